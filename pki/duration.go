package pki

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Day and Year are the lengths ParseDuration uses for the d and y suffixes.
const (
	Day  = 24 * time.Hour
	Year = 365 * Day
)

// ParseDuration parses a validity period: any time.ParseDuration string
// ("24h", "90m") or a whole number followed by d (days) or y (365-day
// years), e.g. "30d", "10y". The result must be positive.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	var d time.Duration
	if n := len(t); n > 1 && (t[n-1] == 'd' || t[n-1] == 'y') {
		v, err := strconv.ParseUint(t[:n-1], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 24h, 30d or 10y", s)
		}
		unit := Day
		if t[n-1] == 'y' {
			unit = Year
		}
		if v > uint64(200*Year/unit) {
			return 0, fmt.Errorf("duration %q is longer than 200 years", s)
		}
		d = time.Duration(v) * unit
	} else {
		var err error
		d, err = time.ParseDuration(t)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 24h, 30d or 10y", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q must be positive", s)
	}
	return d, nil
}
