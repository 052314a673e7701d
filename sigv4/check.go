package sigv4

import (
	"strconv"
	"time"
)

// DefaultMaxSkew is the default tolerance between the request time and the
// verifier's clock.
const DefaultMaxSkew = 5 * time.Minute

// checkScope checks the service, region and terminator of sc.
// An empty region accepts any region.
func checkScope(sc Scope, service, region string) error {
	if sc.Terminator != Terminator {
		return newError(CodeSignatureDoesNotMatch, ErrScope,
			"Credential should be scoped with a valid terminator: 'aws4_request', not '"+truncate(sc.Terminator)+"'.")
	}
	if sc.Service != service {
		return newError(CodeSignatureDoesNotMatch, ErrScope,
			"Credential should be scoped to correct service: '"+service+"'.")
	}
	if region != "" && sc.Region != region {
		return newError(CodeSignatureDoesNotMatch, ErrScope,
			"Credential should be scoped to a valid region, not '"+truncate(sc.Region)+"'.")
	}
	return nil
}

// parseAmzDate parses an X-Amz-Date value.
func parseAmzDate(s string) (time.Time, error) {
	t, ok := parseBasicTime(s)
	if !ok {
		return time.Time{}, newError(CodeIncompleteSignature, ErrMalformed,
			"Date must be in ISO-8601 'basic format'. Got '"+truncate(s)+"'. See http://en.wikipedia.org/wiki/ISO_8601")
	}
	return t, nil
}

// parseBasicTime parses s in TimeFormat (YYYYMMDDTHHMMSSZ, UTC). It accepts
// exactly the strings of that length time.Parse(TimeFormat, s) accepts (a
// valid calendar date, hour < 24, minute and second < 60) and returns the
// same time, several times faster.
func parseBasicTime(s string) (time.Time, bool) {
	if len(s) != len(TimeFormat) || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	var v [6]int // year, month, day, hour, minute, second
	for i, span := range [...][2]int{{0, 4}, {4, 6}, {6, 8}, {9, 11}, {11, 13}, {13, 15}} {
		for j := span[0]; j < span[1]; j++ {
			c := s[j]
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			v[i] = v[i]*10 + int(c-'0')
		}
	}
	year, month, day, hour, minute, sec := v[0], v[1], v[2], v[3], v[4], v[5]
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC), true
}

// daysIn returns the number of days in month (1-12) of year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// checkDate checks that the scope date is the day of amzDate.
func checkDate(sc Scope, amzDate string) error {
	if sc.Date != amzDate[:8] {
		return newError(CodeSignatureDoesNotMatch, ErrScope,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+
				sc.Date+"' != '"+amzDate[:8]+"', from '"+amzDate+"'.")
	}
	return nil
}

// checkSkew checks that t is within maxSkew of now.
func checkSkew(t, now time.Time, maxSkew time.Duration) error {
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	now = now.UTC()
	if t.Before(now.Add(-maxSkew)) {
		return newError(CodeSignatureDoesNotMatch, ErrTimeSkew,
			"Signature expired: "+t.Format(TimeFormat)+" is now earlier than "+
				now.Add(-maxSkew).Format(TimeFormat)+" ("+now.Format(TimeFormat)+" - "+skewText(maxSkew)+".)")
	}
	if t.After(now.Add(maxSkew)) {
		return newError(CodeSignatureDoesNotMatch, ErrTimeSkew,
			"Signature not yet current: "+t.Format(TimeFormat)+" is still later than "+
				now.Add(maxSkew).Format(TimeFormat)+" ("+now.Format(TimeFormat)+" + "+skewText(maxSkew)+".)")
	}
	return nil
}

func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " sec"
}
