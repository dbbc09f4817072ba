package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Problem is an error answer of the service: an RFC 9457 application/problem+json body, or
// an answer of API Gateway itself (its authorizer's 401/403, an unknown route, a 502/503/504
// of the gateway), which carries no code.
//
// Code is the service's stable code (README "Errors"), empty for API Gateway's own answers.
// Extra holds the problem's other members, such as attemptsRemaining (verification_failed),
// lockedUntil (too_many_attempts) and limit (send_limited). RetryAfter is the Retry-After
// header, when the answer had one.
//
// Use errors.As to reach it, or IsCode / IsStatus:
//
//	var p *client.Problem
//	if errors.As(err, &p) && p.Code == "verification_failed" { … }
type Problem struct {
	Status     int
	Type       string // urn:mfa:problem:<code>
	Code       string
	Title      string
	Detail     string
	Field      string // the request field at fault, when one is
	Instance   string // urn:request:<request id>; quote it to support
	RetryAfter time.Duration
	Extra      map[string]any
}

// Error describes the problem with what the server chose to say; it never holds the request
// body or a token.
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString("mfa: ")
	b.WriteString(strconv.Itoa(p.Status))
	if p.Code != "" {
		b.WriteString(" ")
		b.WriteString(p.Code)
	}
	switch {
	case p.Detail != "":
		b.WriteString(": ")
		b.WriteString(p.Detail)
	case p.Title != "":
		b.WriteString(": ")
		b.WriteString(p.Title)
	}
	if p.Field != "" {
		fmt.Fprintf(&b, " (field %s)", p.Field)
	}
	return b.String()
}

// AttemptsRemaining is the number of answers a challenge or enrollment still takes, from a
// verification_failed problem.
func (p *Problem) AttemptsRemaining() (int, bool) {
	f, ok := p.Extra["attemptsRemaining"].(float64)
	return int(f), ok
}

// LockedUntil is when a too_many_attempts lock ends. It is false for a lock that only an
// admin can lift (lockedUntil null) and for other problems.
func (p *Problem) LockedUntil() (time.Time, bool) {
	s, ok := p.Extra["lockedUntil"].(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// AsProblem returns the *Problem in err's chain, if any.
func AsProblem(err error) (*Problem, bool) {
	var p *Problem
	ok := errors.As(err, &p)
	return p, ok
}

// IsCode reports whether err is (or wraps) a Problem with one of the given codes.
func IsCode(err error, codes ...string) bool {
	p, ok := AsProblem(err)
	if !ok {
		return false
	}
	for _, c := range codes {
		if p.Code == c {
			return true
		}
	}
	return false
}

// IsStatus reports whether err is (or wraps) a Problem with this HTTP status.
func IsStatus(err error, status int) bool {
	p, ok := AsProblem(err)
	return ok && p.Status == status
}

// parseProblem builds a Problem from an error answer. A body that is not a problem (API
// Gateway's {"message": …}, or anything else) still gives a Problem with the status.
func parseProblem(status int, h http.Header, body []byte, now time.Time) *Problem {
	p := &Problem{Status: status, Title: http.StatusText(status), RetryAfter: parseRetryAfter(h.Get("Retry-After"), now)}
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return p
	}
	str := func(k string) string {
		s, _ := m[k].(string)
		delete(m, k)
		return s
	}
	if code := str("code"); code != "" {
		p.Code = code
	}
	if t := str("title"); t != "" {
		p.Title = t
	}
	p.Type, p.Detail, p.Field, p.Instance = str("type"), str("detail"), str("field"), str("instance")
	if msg := str("message"); msg != "" && p.Detail == "" {
		p.Detail = msg // API Gateway's own shape
	}
	delete(m, "status")
	if len(m) > 0 {
		p.Extra = m
	}
	return p
}

// parseRetryAfter reads delay-seconds or an HTTP date; anything else is no delay.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
