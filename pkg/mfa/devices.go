package mfa

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// A device token is "<deviceId>.<secret>": the id finds the device's record, the 256-bit
// secret proves possession. Only a keyed hash of the secret is stored.
const deviceSecretBytes = 32

func (s *Core) deviceHash(userID, deviceID, secret string) []byte {
	return s.Hasher.Hash("device-token", []byte(userID+"\x00"+deviceID+"\x00"+secret))
}

// newDevice makes a trusted device and the token that proves it, shown once.
func (s *Core) newDevice(c Caller, userID string, days int, now time.Time) (Device, string, error) {
	id, err := s.newID()
	if err != nil {
		return Device{}, "", err
	}
	raw := make([]byte, deviceSecretBytes)
	if _, err := io.ReadFull(s.Random, raw); err != nil {
		return Device{}, "", err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	label := c.UserAgent
	if len(label) > 120 {
		label = label[:120]
	}
	for !utf8.ValidString(label) {
		label = label[:len(label)-1]
	}
	d := Device{
		ID: id, UserID: userID, TokenHash: s.deviceHash(userID, id, secret), Label: label, IP: c.IP,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Duration(days) * 24 * time.Hour),
	}
	return d, id + "." + secret, nil
}

// trustedDevice returns the id of the unexpired device the token proves, or "". A token that
// proves nothing is simply not a trusted device: the user answers a challenge as usual.
func (s *Core) trustedDevice(userID, token string, devices []Device, now time.Time) string {
	id, secret, ok := strings.Cut(token, ".")
	if !ok || !ValidID(id) || len(secret) != base64.RawURLEncoding.EncodedLen(deviceSecretBytes) {
		return ""
	}
	want := s.deviceHash(userID, id, secret)
	for _, d := range devices {
		if d.ID == id && hmac.Equal(d.TokenHash, want) && now.Before(d.ExpiresAt) {
			return id
		}
	}
	return ""
}

// ListDevices lists a user's trusted devices (unexpired ones), for the user or a service.
func (s *Factors) ListDevices(ctx context.Context, c Caller, userID string) ([]Device, error) {
	if err := authorize(c, userID); err != nil {
		return nil, err
	}
	return s.listDevices(ctx, userID)
}

// AdminListDevices lists a user's trusted devices for an admin.
func (s *Administration) AdminListDevices(ctx context.Context, c Caller, userID string) ([]Device, error) {
	if err := authorizeAdmin(c, userID); err != nil {
		return nil, err
	}
	return s.Factors.listDevices(ctx, userID)
}

func (s *Factors) listDevices(ctx context.Context, userID string) ([]Device, error) {
	p, err := s.Store.LoadProfile(ctx, userID)
	if err != nil {
		return nil, unavailable(err)
	}
	return liveDevices(p.Devices, s.now()), nil
}

func liveDevices(all []Device, now time.Time) []Device {
	out := []Device{}
	for _, d := range all {
		if now.Before(d.ExpiresAt) {
			out = append(out, d)
		}
	}
	return out
}

// RevokeDevice stops one device from skipping MFA, for the user or a service. Revoking only
// takes access away, so it needs no step-up.
func (s *Factors) RevokeDevice(ctx context.Context, c Caller, userID, deviceID string) error {
	if err := authorize(c, userID); err != nil {
		return err
	}
	return s.revokeDevice(ctx, c, userID, deviceID)
}

// AdminRevokeDevice revokes one device for an admin.
func (s *Administration) AdminRevokeDevice(ctx context.Context, c Caller, userID, deviceID string) error {
	if err := authorizeAdmin(c, userID); err != nil {
		return err
	}
	return s.Factors.revokeDevice(ctx, c, userID, deviceID)
}

func (s *Factors) revokeDevice(ctx context.Context, c Caller, userID, deviceID string) error {
	if !ValidID(deviceID) {
		return Invalid(CodeInvalidRequest, "deviceId", "deviceId is malformed")
	}
	ev := s.event(c, userID, ActionDeviceRevoked, "ok")
	ev.Reason = deviceID
	switch err := s.Store.DeleteDevice(ctx, userID, deviceID, ev); {
	case errors.Is(err, ErrNotFound):
		return notFound(CodeDeviceNotFound, "no such device")
	case err != nil:
		return unavailable(err)
	}
	return nil
}

// RevokeAllDevices revokes every trusted device of a user (admins).
func (s *Administration) RevokeAllDevices(ctx context.Context, c Caller, userID string) error {
	if err := authorizeAdmin(c, userID); err != nil {
		return err
	}
	p, err := s.Store.LoadProfile(ctx, userID)
	if err != nil {
		return unavailable(err)
	}
	ids := make([]string, 0, len(p.Devices))
	for _, d := range p.Devices {
		ids = append(ids, d.ID)
	}
	if err := s.Store.DeleteDevices(ctx, userID, ids, s.event(c, userID, ActionDeviceRevoked, "ok")); err != nil {
		return unavailable(err)
	}
	return nil
}

func authorizeAdmin(c Caller, userID string) error {
	if !ValidUserID(userID) {
		return Invalid(CodeInvalidRequest, "userId", "userId is not a valid user id")
	}
	if c.Kind != CallerAdmin {
		return forbidden(CodeAdminRequired, "this route needs a token with the mfa/admin scope")
	}
	return nil
}
