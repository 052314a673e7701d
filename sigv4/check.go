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
	t, err := time.Parse(TimeFormat, s)
	if err != nil || len(s) != len(TimeFormat) {
		return time.Time{}, newError(CodeIncompleteSignature, ErrMalformed,
			"Date must be in ISO-8601 'basic format'. Got '"+truncate(s)+"'. See http://en.wikipedia.org/wiki/ISO_8601")
	}
	return t, nil
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
