package mfa

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"time"

	"github.com/mfa-service/mfa/pkg/policy"
)

// ChallengeRequest is the body of POST …/challenges.
type ChallengeRequest struct {
	OrganizationID string
	Purpose        string
	MinStrength    string
	DeviceToken    string
	RegisteredAt   time.Time // when the user registered with the app; grace counts from it
	ContextIP      string    // the user's address as the app saw it (trusted from services only)
	ContextDevice  string    // the app's id for the user's device
	Locale         string    // the language of the codes it sends (BCP 47); see requestLocale
}

// ChallengeResult is the decision and the challenge opened for it.
type ChallengeResult struct {
	ChallengeID         string
	MFARequired         bool
	Reason              string
	EnrollmentRequired  bool
	EnrollmentSkippable bool
	Factors             []Factor
	DefaultFactorID     string
	ExpiresAt           time.Time
	WebAuthn            json.RawMessage // assertion options when passkeys are offered
	Signals             []string        // the risk signals that fired (adaptive mode)

	opened *openedChallenge // set by CreateChallenge: what SendOpenedCode sends from
}

// openedChallenge is a challenge CreateChallenge opened and the user's state it read.
type openedChallenge struct {
	ch    Challenge
	state UserState
}

// Purposes of a challenge.
const (
	PurposeSignIn = "sign_in"
	PurposeStepUp = "step_up"
)

var orgIDPattern = userIDPattern

// decided is a decision with what went into it.
type decided struct {
	d          policy.Decision
	pol        policy.Policy
	byID       map[string]Factor
	purpose    string
	ip, device string
	trusted    string
	now        time.Time
	seen       []Seen
	firstSeen  time.Time // zero: the service has never seen the user
	state      UserState
	listedAt   time.Time // the user's place in the admin directory's activity order
}

// decide applies the policy to the user without changing anything.
func (s *Decider) decide(ctx context.Context, c Caller, userID string, req ChallengeRequest) (decided, error) {
	if err := authorize(c, userID); err != nil {
		return decided{}, err
	}
	purpose := req.Purpose
	switch purpose {
	case "":
		purpose = PurposeSignIn
	case PurposeSignIn, PurposeStepUp:
	default:
		return decided{}, Invalid(CodeInvalidRequest, "purpose", "purpose must be sign_in or step_up")
	}
	if req.OrganizationID != "" && !orgIDPattern.MatchString(req.OrganizationID) {
		return decided{}, Invalid(CodeInvalidRequest, "organizationId", "organizationId is malformed")
	}
	if !policy.ValidStrength(req.MinStrength) {
		return decided{}, Invalid(CodeInvalidRequest, "minStrength", "minStrength must be phishing_resistant, otp, oob or recovery")
	}
	if _, err := explicitLocale(req.Locale); err != nil {
		return decided{}, err
	}
	pol, err := s.policyFor(ctx, req.OrganizationID)
	if err != nil {
		return decided{}, err
	}
	profile, err := s.Store.LoadProfile(ctx, userID)
	if err != nil {
		return decided{}, unavailable(err)
	}
	now := s.now()
	ip, device, err := signInContext(c, req)
	if err != nil {
		return decided{}, err
	}
	x := decided{pol: pol, byID: make(map[string]Factor, len(profile.Factors)), purpose: purpose, ip: ip, device: device, now: now, seen: profile.Seen, firstSeen: profile.State.FirstSeenAt, listedAt: profile.State.ListedAt, state: profile.State}
	in := policy.Input{
		Policy: pol, LastFactorID: profile.State.LastFactorID, MinStrength: req.MinStrength,
		StepUp: purpose == PurposeStepUp, Now: now, RegisteredAt: req.RegisteredAt,
		FirstSeenAt: profile.State.FirstSeenAt, PromptSkipped: !profile.State.PromptSkippedAt.IsZero(),
		Signals: policy.Signals{
			NewDevice:      device != "" && !seen(profile.Seen, "device", device, now),
			NewIP:          ip != "" && !seen(profile.Seen, "ip", ip, now),
			RecentFailures: profile.State.ConsecutiveFailures > 0,
		},
	}
	for _, f := range profile.Factors {
		if f.Type == TypeBackupCodes && len(f.BackupCodes) == 0 {
			continue // a used-up set is no factor
		}
		x.byID[f.ID] = f
		in.Factors = append(in.Factors, policy.Factor{ID: f.ID, Type: string(f.Type), LastUsedAt: f.LastUsedAt})
	}
	x.d = policy.Decide(in)
	// DESIGN §5 rule 3: a valid trusted-device token skips sign-in MFA while the policy
	// remembers devices; never a step-up.
	if req.DeviceToken != "" && purpose == PurposeSignIn && pol.RememberDeviceDays > 0 && x.d.MFARequired {
		if x.trusted = s.trustedDevice(userID, req.DeviceToken, profile.Devices, now); x.trusted != "" {
			x.d.MFARequired, x.d.Reason = false, policy.ReasonTrustedDevice
		}
	}
	return x, nil
}

// Preview is the decision a challenge would make, with nothing stored: the Cognito define
// trigger asks it whether a sign-in needs a second factor.
func (s *Decider) Preview(ctx context.Context, c Caller, userID string, req ChallengeRequest) (ChallengeResult, error) {
	x, err := s.decide(ctx, c, userID, req)
	if err != nil {
		return ChallengeResult{}, err
	}
	res := ChallengeResult{MFARequired: x.d.MFARequired, Reason: x.d.Reason, EnrollmentRequired: x.d.EnrollmentRequired, EnrollmentSkippable: x.d.EnrollmentSkippable, DefaultFactorID: x.d.DefaultFactorID, Signals: x.d.Signals}
	for _, f := range x.d.Factors {
		res.Factors = append(res.Factors, x.byID[f.ID])
	}
	return res, nil
}

// CreateChallenge decides whether the user must present a second factor and opens a challenge
// that offers exactly the factors the decision allows.
func (s *Challenges) CreateChallenge(ctx context.Context, c Caller, userID string, req ChallengeRequest) (ChallengeResult, error) {
	x, err := s.decide(ctx, c, userID, req)
	if err != nil {
		return ChallengeResult{}, err
	}
	d, now := x.d, x.now
	id, err := s.newID()
	if err != nil {
		return ChallengeResult{}, internal(err)
	}
	ch := Challenge{ID: id, UserID: userID, Purpose: x.purpose, OrganizationID: req.OrganizationID, DefaultFactorID: d.DefaultFactorID, Status: ChallengeOpen, CreatedAt: now, ExpiresAt: now.Add(s.challengeTTL())}
	// The context is kept for a success to remember only when it is not known already, or
	// was last remembered long ago: a sign-in from the usual device and address then writes
	// nothing for it (each remembered item is two write units in the success transaction).
	if !seenWithin(x.seen, "ip", x.ip, now, seenRefresh) {
		ch.ContextIP = x.ip
	}
	if !seenWithin(x.seen, "device", x.device, now, seenRefresh) {
		ch.ContextDevice = x.device
	}
	ch.Locale, _ = explicitLocale(req.Locale)
	res := ChallengeResult{MFARequired: d.MFARequired, Reason: d.Reason, EnrollmentRequired: d.EnrollmentRequired, EnrollmentSkippable: d.EnrollmentSkippable, DefaultFactorID: d.DefaultFactorID, ExpiresAt: ch.ExpiresAt, Signals: d.Signals}
	for _, f := range d.Factors {
		ch.Offered = append(ch.Offered, OfferedFactor{ID: f.ID, Type: FactorType(f.Type)})
		res.Factors = append(res.Factors, x.byID[f.ID])
	}
	// Passkeys offered: the assertion options go out now, the session stays on the challenge.
	if res.WebAuthn, ch.PasskeySession, err = s.beginPasskeyLogin(c, userID, res.Factors, x.pol.UserVerification); err != nil {
		return ChallengeResult{}, err
	}
	ch.HasPasskeySession = len(ch.PasskeySession) > 0
	if res.ChallengeID, err = s.challengeToken(ch); err != nil {
		return ChallengeResult{}, internal(err)
	}
	// The challenge id carries the challenge (challengetoken.go): opening one writes only what
	// must outlive the response. A trusted device's use or the user's first contact (the grace
	// period of required mode counts from it) change the user's state: they are written, with
	// a passkey session if there is one, and the event. A passkey offer's WebAuthn session
	// alone is the ceremony's data, not a change of the user's: it is stored by itself, and,
	// as for any other challenge, the answer records the activity.
	switch {
	case x.trusted != "" || x.firstSeen.IsZero():
		ch.MovesInDirectory = x.listedAt.IsZero() || now.Sub(x.listedAt) >= DirectoryActivityStep
		ev := s.event(c, userID, ActionChallengeOpened, "ok")
		ev.ChallengeID, ev.Reason = id, d.Reason
		if err := s.Store.OpenChallenge(ctx, ch, x.trusted, ev); err != nil {
			return ChallengeResult{}, unavailable(err)
		}
	case ch.HasPasskeySession:
		if err := s.Store.StorePasskeySession(ctx, ch); err != nil {
			return ChallengeResult{}, unavailable(err)
		}
	}
	res.opened = &openedChallenge{ch: ch, state: x.state}
	return res, nil
}

// MaskedDestination is how a factor's destination may be shown: never in full. It is worked
// out once, when the factor is bound.
func MaskedDestination(f Factor) string { return f.Masked }

// DeliveryRequest is the body of POST …/challenges/{id}/deliveries.
type DeliveryRequest struct {
	FactorID string
	Locale   string // the language of the code (BCP 47); see requestLocale
}

// SendChallengeCode sends an email or SMS code for one factor the challenge offers. The
// destination is the bound factor's, never the request's. Sends are capped per challenge, per
// user and per destination, with a cool-down between resends; a resend replaces the earlier
// code but never resets a failure count.
func (s *Deliveries) SendChallengeCode(ctx context.Context, c Caller, userID, challengeID string, req DeliveryRequest) (DeliveryInfo, error) {
	if err := authorize(c, userID); err != nil {
		return DeliveryInfo{}, err
	}
	if !ValidChallengeID(challengeID) {
		return DeliveryInfo{}, Invalid(CodeInvalidRequest, "challengeId", "challengeId is malformed")
	}
	if !ValidID(req.FactorID) {
		return DeliveryInfo{}, Invalid(CodeInvalidRequest, "factorId", "factorId is required and must be a factor id")
	}
	explicit, err := explicitLocale(req.Locale)
	if err != nil {
		return DeliveryInfo{}, err
	}
	ch, err := s.parseChallenge(userID, challengeID)
	if err != nil {
		return DeliveryInfo{}, err
	}
	v, err := s.Store.LoadVerification(ctx, ch)
	if errors.Is(err, ErrNotFound) {
		return DeliveryInfo{}, notFound(CodeChallengeNotFound, "no such challenge")
	}
	if err != nil {
		return DeliveryInfo{}, unavailable(err)
	}
	return s.send(ctx, c, userID, withTally(v.Challenge, v.State), v.State, v.Factor(req.FactorID), v.Code, explicit)
}

// SendOpenedCode sends the code of one factor that a challenge CreateChallenge just opened
// offers, from what CreateChallenge read: the checks and limits of SendChallengeCode without
// reading the user again (the challenge is new: no code was sent for it yet). An app asks
// for it with the challenge (sendCode), as the Cognito create trigger does for the factor of
// its round.
func (s *Deliveries) SendOpenedCode(ctx context.Context, c Caller, res ChallengeResult, req DeliveryRequest) (DeliveryInfo, error) {
	if res.opened == nil {
		return DeliveryInfo{}, internal(errors.New("mfa: the challenge was not opened by CreateChallenge"))
	}
	userID := res.opened.ch.UserID
	if err := authorize(c, userID); err != nil {
		return DeliveryInfo{}, err
	}
	explicit, err := explicitLocale(req.Locale)
	if err != nil {
		return DeliveryInfo{}, err
	}
	var f *Factor
	for i := range res.Factors {
		if res.Factors[i].ID == req.FactorID {
			f = &res.Factors[i]
		}
	}
	return s.send(ctx, c, userID, res.opened.ch, res.opened.state, f, nil, explicit)
}

// send sends the code of factor f (nil: not the user's) for challenge ch, given the user's
// state and the code already sent for ch (nil: none), as read in this request.
func (s *Deliveries) send(ctx context.Context, c Caller, userID string, ch Challenge, state UserState, f *Factor, sent *CodeRecord, explicit string) (DeliveryInfo, error) {
	now := s.now()
	if lock, locked := s.Regulation.LockAt(state, now); locked {
		return DeliveryInfo{}, tooManyAttempts(lock, now)
	}
	if err := checkChallengeOpen(ch, now, s.Regulation); err != nil {
		return DeliveryInfo{}, err
	}
	if f == nil || !offers(ch, f.ID) {
		return DeliveryInfo{}, notFound(CodeFactorNotFound, "the challenge offers no such factor")
	}
	if f.Type != TypeEmail && f.Type != TypeSMS {
		return DeliveryInfo{}, Invalid(CodeFactorTypeMismatch, "factorId", "only email and sms factors receive codes")
	}
	pol, err := s.policyFor(ctx, ch.OrganizationID)
	if err != nil {
		return DeliveryInfo{}, err
	}
	if f.Type == TypeSMS && !pol.AllowsCountry(f.Region) {
		return DeliveryInfo{}, forbidden(CodeCountryNotAllowed, "text messages to this country are not allowed")
	}
	lim := s.limits()
	// The limits are enforced by the conditional write below; checking what was read first
	// only makes the answer precise (which limit, until when).
	if sent != nil {
		if sent.Sends >= lim.MaxSendsPerChallenge {
			return DeliveryInfo{}, sendLimited(&LimitError{Limit: "challenge", RetryAt: ch.ExpiresAt}, now)
		}
		if next := sent.LastSendAt.Add(lim.ResendCooldown); !sent.LastSendAt.IsZero() && now.Before(next) {
			return DeliveryInfo{}, sendLimited(&LimitError{Limit: "cooldown", RetryAt: next}, now)
		}
	}
	code, err := s.newCode()
	if err != nil {
		return DeliveryInfo{}, internal(err)
	}
	expires := now.Add(lim.CodeTTL)
	ev := s.event(c, userID, ActionCodeSent, "ok")
	ev.FactorID, ev.FactorType, ev.ChallengeID = f.ID, f.Type, ch.ID
	quota := s.quota(userID, f.Destination, now, f.Type, pol)
	quota.Windows = state.SendWindows
	d := Delivery{
		Code:     CodeRecord{ChallengeID: ch.ID, FactorID: f.ID, Hash: s.codeHash(userID, "challenge:"+ch.ID+":"+f.ID, code), ExpiresAt: expires},
		UserID:   userID,
		Quota:    quota,
		MaxSends: lim.MaxSendsPerChallenge, Cooldown: lim.ResendCooldown, ChallengeEnds: ch.ExpiresAt,
		Event: ev, Resent: sent, Expired: state.expired(ch.ID, now),
	}
	d.Withdrawn = s.event(c, userID, ActionCodeRefused, "refused")
	d.Withdrawn.FactorID, d.Withdrawn.FactorType, d.Withdrawn.ChallengeID, d.Withdrawn.Reason = f.ID, f.Type, ch.ID, "limit:destination"
	if err := s.Store.RecordDelivery(ctx, d); err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			s.count("SendsRefused", map[string]string{"Channel": string(f.Type), "Limit": le.Limit})
			return DeliveryInfo{}, sendLimited(le, now)
		}
		return DeliveryInfo{}, unavailable(err)
	}
	s.count("CodesSent", map[string]string{"Channel": string(f.Type)})
	// The delivery's own locale, the challenge's, the caller's token and Accept-Language, then
	// the one the user chose when binding the factor (all a Cognito trigger has).
	lang := firstLocale(explicit, requestLocale(c, ch.Locale), f.Locale)
	purpose := PurposeSignIn
	if ch.Purpose == PurposeStepUp {
		purpose = PurposeStepUp
	}
	if err := s.Notifier.SendCode(ctx, f.Type, f.Destination, code, purpose, lang, lim.CodeTTL); err != nil {
		return DeliveryInfo{}, &Error{Kind: KindUnavailable, Code: CodeDeliveryFailed, Message: "the code could not be sent; try again", Err: err}
	}
	return DeliveryInfo{Channel: f.Type, MaskedDestination: MaskedDestination(*f), ExpiresAt: expires, ResendAfter: now.Add(lim.ResendCooldown)}, nil
}

func offers(ch Challenge, factorID string) bool {
	for _, o := range ch.Offered {
		if o.ID == factorID {
			return true
		}
	}
	return false
}

// seenRetention is how long a device or address the user verified from counts as known.
const seenRetention = 90 * 24 * time.Hour

// seenRefresh is how old a known device or address's record may get before a success from
// it records it again; well inside seenRetention, so one used at least every 60 days stays
// known.
const seenRefresh = 30 * 24 * time.Hour

func seen(all []Seen, kind, value string, now time.Time) bool {
	return seenWithin(all, kind, value, now, seenRetention)
}

func seenWithin(all []Seen, kind, value string, now time.Time, within time.Duration) bool {
	for _, x := range all {
		if x.Kind == kind && x.Value == value && now.Sub(x.At) < within {
			return true
		}
	}
	return false
}

var deviceIDPattern = newIDShape("A-Za-z0-9._~:-", 1, 128)

// signInContext is where a sign-in comes from. A service's word for the user's address is
// taken (it sees the user's connection); a user token's own claim is not (it could pick any),
// so the connection's source address counts instead.
func signInContext(c Caller, req ChallengeRequest) (ip, device string, err error) {
	if req.ContextDevice != "" && !deviceIDPattern.MatchString(req.ContextDevice) {
		return "", "", Invalid(CodeInvalidRequest, "context.deviceId", "context.deviceId must be 1 to 128 letters, digits or ._~:-")
	}
	if req.ContextIP != "" {
		addr, perr := netip.ParseAddr(req.ContextIP)
		if perr != nil {
			return "", "", Invalid(CodeInvalidRequest, "context.ip", "context.ip is not an IP address")
		}
		if c.Kind == CallerService {
			return addr.Unmap().String(), req.ContextDevice, nil
		}
	}
	if addr, perr := netip.ParseAddr(c.IP); perr == nil {
		ip = addr.Unmap().String()
	}
	return ip, req.ContextDevice, nil
}

// SkipEnrollmentPrompt records that the user skipped being asked to enroll, where the policy
// makes the prompt skippable; elsewhere it is a conflict.
func (s *Challenges) SkipEnrollmentPrompt(ctx context.Context, c Caller, userID, orgID string) error {
	if err := authorize(c, userID); err != nil {
		return err
	}
	if orgID != "" && !orgIDPattern.MatchString(orgID) {
		return Invalid(CodeInvalidRequest, "organizationId", "organizationId is malformed")
	}
	pol, err := s.policyFor(ctx, orgID)
	if err != nil {
		return err
	}
	p, err := s.Store.LoadProfile(ctx, userID)
	if err != nil {
		return unavailable(err)
	}
	var bound []policy.Factor
	for _, f := range p.Factors {
		bound = append(bound, policy.Factor{ID: f.ID, Type: string(f.Type)})
	}
	d := policy.Decide(policy.Input{Policy: pol, Factors: bound, Now: s.now(), FirstSeenAt: p.State.FirstSeenAt, PromptSkipped: !p.State.PromptSkippedAt.IsZero()})
	if !d.EnrollmentRequired || !d.EnrollmentSkippable {
		return &Error{Kind: KindConflict, Code: CodePromptNotSkippable, Message: "there is no skippable enrollment prompt for this user now"}
	}
	if err := s.Store.SkipPrompt(ctx, userID, s.event(c, userID, ActionPromptSkipped, "ok")); err != nil {
		return unavailable(err)
	}
	return nil
}
