package mfa

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/mfa-service/mfa/pkg/contact"
)

// DirectoryStore lists the users the service knows, from indexes kept by the same writes
// that change a user's state and factors: never a table scan.
type DirectoryStore interface {
	// ListUsers returns up to q.Limit users in the order of q's mode and the cursor of the
	// next page ("" at the end). A page may hold fewer users than the limit when filters
	// leave some out: the cursor still moves past everything examined. ErrBadCursor for a
	// cursor this store did not hand out for this kind of listing.
	ListUsers(ctx context.Context, q DirectoryQuery) ([]UserState, string, error)
}

// DirectoryQuery selects users. With AddressKey the users who bound that address (plus the
// user whose id is ExactUserID, if any) come back in one page; with IDPrefix, users whose id
// starts with it, by id; otherwise every user, most recent activity first.
type DirectoryQuery struct {
	Limit       int
	Cursor      string
	FactorType  FactorType // only users with a factor of this type
	MinFailures int        // only users with at least this many consecutive failures
	IDPrefix    string
	AddressKey  string
	ExactUserID string
}

// DirectoryRequest is GET /v1/admin/users.
type DirectoryRequest struct {
	Limit      int
	Cursor     string
	FactorType string
	Locked     string // "", "true" or "false"
	Query      string // a user id prefix, or an exact email address or phone number
}

// DirectoryUser is one user of the directory.
type DirectoryUser struct {
	UserID            string
	FactorTypes       []FactorType
	MFAEnrolled       bool // has a primary factor
	FirstSeenAt       time.Time
	LastChallengeAt   time.Time
	LastVerifiedAt    time.Time
	FailedAttempts    int
	LockedUntil       time.Time
	LockedPermanently bool
}

// Directory pages the users the service knows (admin only).
func (s *Administration) Directory(ctx context.Context, c Caller, req DirectoryRequest) ([]DirectoryUser, string, error) {
	if c.Kind != CallerAdmin {
		return nil, "", forbidden(CodeAdminRequired, "this route needs a token with the mfa/admin scope")
	}
	q := DirectoryQuery{Limit: req.Limit, Cursor: req.Cursor}
	if q.Limit == 0 {
		q.Limit = 25
	}
	if q.Limit < 1 || q.Limit > 100 {
		return nil, "", Invalid(CodeInvalidRequest, "limit", "limit must be 1 to 100")
	}
	if req.FactorType != "" {
		t := FactorType(req.FactorType)
		if mapped, ok := logtoTypes[req.FactorType]; ok {
			t = mapped
		}
		if !knownType(t) {
			return nil, "", Invalid(CodeInvalidRequest, "factorType", "factorType must be totp, webauthn, email, sms or backup_codes")
		}
		q.FactorType = t
	}
	reg := s.Regulation
	switch req.Locked {
	case "":
	case "true":
		q.MinFailures = reg.LockAfter
	case "false":
	default:
		return nil, "", Invalid(CodeInvalidRequest, "locked", "locked must be true or false")
	}
	if err := s.directorySearch(&q, strings.TrimSpace(req.Query)); err != nil {
		return nil, "", err
	}
	states, next, err := s.Store.ListUsers(ctx, q)
	if errors.Is(err, ErrBadCursor) {
		return nil, "", Invalid(CodeInvalidCursor, "cursor", "cursor is not one this service handed out for this search")
	}
	if err != nil {
		return nil, "", unavailable(err)
	}
	now := s.now()
	users := make([]DirectoryUser, 0, len(states))
	for _, st := range states {
		u := DirectoryUser{
			UserID: st.UserID, FirstSeenAt: st.FirstSeenAt, LastChallengeAt: st.LastChallengeAt,
			LastVerifiedAt: st.LastVerifiedAt, FailedAttempts: st.ConsecutiveFailures,
		}
		for _, t := range factorTypeOrder {
			if st.TypeCounts[t] > 0 {
				u.FactorTypes = append(u.FactorTypes, t)
				u.MFAEnrolled = u.MFAEnrolled || t != TypeBackupCodes
			}
		}
		lock, locked := reg.LockAt(st, now)
		if locked {
			u.LockedUntil, u.LockedPermanently = lock.Until, lock.Permanent
		}
		// The store filters on the failure count; whether a lock is still running is a matter
		// of time, decided here.
		if (req.Locked == "true" && !locked) || (req.Locked == "false" && locked) {
			continue
		}
		users = append(users, u)
	}
	return users, next, nil
}

// directorySearch reads q: an email address or a phone number (with a leading +) is looked
// up by its keyed hash, exactly as the factor stores it; anything else is a user id prefix.
func (s *Administration) directorySearch(q *DirectoryQuery, text string) error {
	if text == "" {
		return nil
	}
	if len(text) > 254 {
		return Invalid(CodeInvalidRequest, "q", "q is too long")
	}
	if ValidUserID(text) {
		q.ExactUserID = text
	}
	if strings.Contains(text, "@") {
		if e, err := contact.ParseEmail(text); err == nil {
			q.AddressKey = s.addressKey(e.Normalized)
			return nil
		}
	}
	if strings.HasPrefix(text, "+") {
		if e164, _, _, err := s.Factors.Phones(text); err == nil {
			q.AddressKey = s.addressKey(e164)
			return nil
		}
	}
	if !ValidUserID(text) {
		return Invalid(CodeInvalidRequest, "q", "q must be the start of a user id, an email address or a phone number like +14155550100")
	}
	q.ExactUserID = ""
	q.IDPrefix = text
	return nil
}

// addressKey is the keyed hash under which the directory finds the users of an address. It
// has its own purpose, so it cannot be matched with the send counters' keys.
func (s *Core) addressKey(dest string) string {
	return hex.EncodeToString(s.Hasher.Hash("directory-address", []byte(dest)))
}

var factorTypeOrder = []FactorType{TypeWebAuthn, TypeTOTP, TypeEmail, TypeSMS, TypeBackupCodes}

func knownType(t FactorType) bool {
	for _, k := range factorTypeOrder {
		if k == t {
			return true
		}
	}
	return false
}
