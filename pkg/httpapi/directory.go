package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/mfa"
)

type directoryUserJSON struct {
	UserID            string     `json:"userId"`
	FactorTypes       []string   `json:"factorTypes"`
	MFAEnrolled       bool       `json:"mfaEnrolled"`
	FirstSeenAt       *time.Time `json:"firstSeenAt"`
	LastChallengeAt   *time.Time `json:"lastChallengeAt"`
	LastVerifiedAt    *time.Time `json:"lastVerifiedAt"`
	FailedAttempts    int        `json:"failedAttempts"`
	LockedUntil       *time.Time `json:"lockedUntil"`
	LockedPermanently bool       `json:"lockedPermanently"`
}

// adminListUsers is GET /v1/admin/users?limit&cursor&factorType&locked&q.
func (a *API) adminListUsers(ctx context.Context, req events.APIGatewayV2HTTPRequest, c mfa.Caller) (int, any, error) {
	qs := req.QueryStringParameters
	for k := range qs {
		switch k {
		case "limit", "cursor", "factorType", "locked", "q":
		default:
			return 0, nil, mfa.Invalid(mfa.CodeInvalidRequest, k, "unknown query parameter "+strconv.Quote(k))
		}
	}
	limit := 0
	if v := qs["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return 0, nil, mfa.Invalid(mfa.CodeInvalidRequest, "limit", "limit must be a number from 1 to 100")
		}
		limit = n
	}
	users, next, err := a.Service.Directory(ctx, c, mfa.DirectoryRequest{
		Limit: limit, Cursor: qs["cursor"], FactorType: qs["factorType"], Locked: qs["locked"], Query: qs["q"],
	})
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Users      []directoryUserJSON `json:"users"`
		NextCursor string              `json:"nextCursor,omitempty"`
	}{Users: make([]directoryUserJSON, 0, len(users)), NextCursor: next}
	for _, u := range users {
		types := make([]string, 0, len(u.FactorTypes))
		for _, t := range u.FactorTypes {
			types = append(types, string(t))
		}
		out.Users = append(out.Users, directoryUserJSON{
			UserID: u.UserID, FactorTypes: types, MFAEnrolled: u.MFAEnrolled, FirstSeenAt: timePtr(u.FirstSeenAt),
			LastChallengeAt: timePtr(u.LastChallengeAt), LastVerifiedAt: timePtr(u.LastVerifiedAt),
			FailedAttempts: u.FailedAttempts, LockedUntil: timePtr(u.LockedUntil), LockedPermanently: u.LockedPermanently,
		})
	}
	return http.StatusOK, out, nil
}
