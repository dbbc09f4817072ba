package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mfa-service/mfa/pkg/api"
	"github.com/mfa-service/mfa/pkg/mfa"
)

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
	out := api.DirectoryPage{Users: make([]api.DirectoryUser, 0, len(users)), NextCursor: next}
	for _, u := range users {
		types := make([]string, 0, len(u.FactorTypes))
		for _, t := range u.FactorTypes {
			types = append(types, string(t))
		}
		out.Users = append(out.Users, api.DirectoryUser{
			UserID: u.UserID, FactorTypes: types, MFAEnrolled: u.MFAEnrolled, FirstSeenAt: api.NullTime{Time: u.FirstSeenAt},
			LastChallengeAt: api.NullTime{Time: u.LastChallengeAt}, LastVerifiedAt: api.NullTime{Time: u.LastVerifiedAt},
			FailedAttempts: u.FailedAttempts, LockedUntil: api.NullTime{Time: u.LockedUntil}, LockedPermanently: u.LockedPermanently,
		})
	}
	return http.StatusOK, out, nil
}
