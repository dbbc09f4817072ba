package dynamostore

import (
	"fmt"
	"strconv"

	"github.com/mfa-service/mfa/pkg/dynamoclient"
)

// Hand-written readers of the items every verification reads (the user's state, its code
// entries, the factors, known devices and addresses, trusted devices): attributevalue.UnmarshalMap walks each struct by reflection on every
// request, which was a tenth of a warm verification's CPU. Each reader reads what
// UnmarshalMap reads from the same item (convert_internal_test.go holds them to it, field by
// field): a missing or NULL attribute is the zero value, an attribute of the wrong type is an
// error, unknown attributes are ignored. They are stricter in one way: a list, which no writer
// of these items makes, is an error where UnmarshalMap would read a list of numbers as bytes.

// itemReader reads typed attributes of one item, keeping the first error.
type itemReader struct {
	item map[string]dynamoclient.AttributeValue
	err  error
}

func (r *itemReader) fail(name, want string, v dynamoclient.AttributeValue) {
	if r.err == nil {
		r.err = fmt.Errorf("dynamostore: attribute %s is %T, want %s", name, v, want)
	}
}

// absent reports whether the attribute is missing or NULL: the zero value.
func absent(v dynamoclient.AttributeValue) bool {
	if v == nil {
		return true
	}
	_, null := v.(*dynamoclient.AttributeValueMemberNULL)
	return null
}

// str reads a string (a number is read as its text, as UnmarshalMap does).
func (r *itemReader) str(name string) string {
	switch v := r.item[name].(type) {
	case *dynamoclient.AttributeValueMemberS:
		return v.Value
	case *dynamoclient.AttributeValueMemberN:
		return v.Value
	default:
		if !absent(v) {
			r.fail(name, "a string", v)
		}
		return ""
	}
}

// number reads the text of a number.
func (r *itemReader) number(name string) (string, bool) {
	v := r.item[name]
	if n, ok := v.(*dynamoclient.AttributeValueMemberN); ok {
		return n.Value, true
	}
	if !absent(v) {
		r.fail(name, "a number", v)
	}
	return "", false
}

func (r *itemReader) int64(name string) int64 {
	n, ok := r.number(name)
	if !ok {
		return 0
	}
	x, err := strconv.ParseInt(n, 10, 64)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("dynamostore: attribute %s: %w", name, err)
	}
	return x
}

func (r *itemReader) int(name string) int { return int(r.int64(name)) }

func (r *itemReader) uint32(name string) uint32 {
	n, ok := r.number(name)
	if !ok {
		return 0
	}
	x, err := strconv.ParseUint(n, 10, 32)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("dynamostore: attribute %s: %w", name, err)
	}
	return uint32(x)
}

func (r *itemReader) bytes(name string) []byte {
	v := r.item[name]
	if b, ok := v.(*dynamoclient.AttributeValueMemberB); ok {
		return b.Value
	}
	if !absent(v) {
		r.fail(name, "binary", v)
	}
	return nil
}

// stringSet reads a string set.
func (r *itemReader) stringSet(name string) []string {
	v := r.item[name]
	if ss, ok := v.(*dynamoclient.AttributeValueMemberSS); ok {
		return ss.Value
	}
	if !absent(v) {
		r.fail(name, "a string set", v)
	}
	return nil
}

// readStateItem reads the user's state item (stateItem).
func readStateItem(item map[string]dynamoclient.AttributeValue) (stateItem, error) {
	r := itemReader{item: item}
	st := stateItem{
		PK: r.str("pk"), SK: r.str("sk"),
		Failures: r.int("failures"), LastFailureAt: r.int64("lastFailureAt"), LastChallengeAt: r.int64("lastChallengeAt"),
		LastVerifiedAt: r.int64("lastVerifiedAt"), LastFactorID: r.str("lastFactorId"), FirstSeenAt: r.int64("firstSeenAt"),
		FactorCount: r.int("factorCount"), BackupFactorID: r.str("backupFactorId"), Emails: r.stringSet("emails"),
		PromptSkippedAt: r.int64("promptSkippedAt"), LastRefusalAt: r.int64("lastRefusalAt"),
		directoryFields: directoryFields{
			DirPK: r.str("dirPk"), DirSK: r.str("dirSk"), DirUser: r.str("dirUser"),
			TOTP: r.int("ft_totp"), WebAuthn: r.int("ft_webauthn"), Email: r.int("ft_email"), SMS: r.int("ft_sms"),
			BackupCode: r.int("ft_backup_codes"),
		},
	}
	return st, r.err
}

// readCodeEntry reads a code entry of the state item (codeEntry).
func readCodeEntry(item map[string]dynamoclient.AttributeValue) (codeEntry, error) {
	r := itemReader{item: item}
	c := codeEntry{
		FactorID: r.str("f"), Hash: r.bytes("h"), ExpiresAt: r.int64("e"), Sends: r.int("n"),
		LastSendAt: r.int64("l"), Until: r.int64("x"),
	}
	return c, r.err
}

// readFactorItem reads a factor item (factorItem).
func readFactorItem(item map[string]dynamoclient.AttributeValue) (factorItem, error) {
	r := itemReader{item: item}
	f := factorItem{
		PK: r.str("pk"), SK: r.str("sk"), ID: r.str("id"), Type: r.str("factorType"), Label: r.str("label"),
		CreatedAt: r.int64("createdAt"), LastUsedAt: r.int64("lastUsedAt"), Secret: r.bytes("secret"),
		LastStep: r.int64("lastStep"), Destination: r.str("destination"), Region: r.str("region"),
		Masked: r.str("masked"), AddrKey: r.str("addrKey"), Codes: r.stringSet("codes"),
		CredentialID: r.bytes("credentialId"), Credential: r.bytes("credential"), SignCount: r.uint32("signCount"),
		Locale: r.str("locale"),
	}
	return f, r.err
}

// readSeenItem reads a known device or address (seenItem).
func readSeenItem(item map[string]dynamoclient.AttributeValue) (seenItem, error) {
	r := itemReader{item: item}
	it := seenItem{PK: r.str("pk"), SK: r.str("sk"), Kind: r.str("kind"), Value: r.str("value"), SeenAt: r.int64("seenAt"), TTL: r.int64("ttl")}
	return it, r.err
}

// readDeviceItem reads a trusted device (deviceItem).
func readDeviceItem(item map[string]dynamoclient.AttributeValue) (deviceItem, error) {
	r := itemReader{item: item}
	d := deviceItem{
		PK: r.str("pk"), SK: r.str("sk"), ID: r.str("id"), TokenHash: r.bytes("tokenHash"), Label: r.str("label"), IP: r.str("ip"),
		CreatedAt: r.int64("createdAt"), LastUsedAt: r.int64("lastUsedAt"), ExpiresAt: r.int64("expiresAt"), TTL: r.int64("ttl"),
	}
	return d, r.err
}

// appendMillis13 appends ms as fmt's %013d does (the sort keys' 13-digit milliseconds).
func appendMillis13(b []byte, ms int64) []byte {
	if ms < 0 || ms >= 1e13 {
		return fmt.Appendf(b, "%013d", ms)
	}
	var d [13]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = byte('0' + ms%10)
		ms /= 10
	}
	return append(b, d[:]...)
}

// isActivitySort reports whether s begins like a by-activity sort key: 13 digits of
// milliseconds and "#" (what ^[0-9]{13}# says).
func isActivitySort(s string) bool {
	if len(s) < 14 || s[13] != '#' {
		return false
	}
	for i := 0; i < 13; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Hand-written writers of the items the store puts: each makes what attributevalue.MarshalMap
// makes of the same struct (convert_internal_test.go holds them to it, field by field), so that
// no function links attributevalue, whose dynamodbstreams dependency and reflection cost every
// cold start about 2 ms here. As there, an omitempty field is left out when zero, and a slice
// only when nil (an empty []byte is an empty binary, an empty string set NULL); a []byte that is
// not omitempty is NULL when nil.
type itemWriter map[string]dynamoclient.AttributeValue

func (w itemWriter) str(name, v string) { w[name] = str(v) }

func (w itemWriter) strOmit(name, v string) {
	if v != "" {
		w[name] = str(v)
	}
}

func (w itemWriter) num(name string, v int64) { w[name] = num(v) }

func (w itemWriter) numOmit(name string, v int64) {
	if v != 0 {
		w[name] = num(v)
	}
}

func (w itemWriter) bytes(name string, v []byte) {
	if v == nil {
		w[name] = &dynamoclient.AttributeValueMemberNULL{Value: true}
		return
	}
	w[name] = &dynamoclient.AttributeValueMemberB{Value: v}
}

func (w itemWriter) bytesOmit(name string, v []byte) {
	if v != nil {
		w[name] = &dynamoclient.AttributeValueMemberB{Value: v}
	}
}

func (w itemWriter) stringSetOmit(name string, v []string) {
	switch {
	case v == nil:
	case len(v) == 0: // DynamoDB has no empty set
		w[name] = &dynamoclient.AttributeValueMemberNULL{Value: true}
	default:
		w[name] = &dynamoclient.AttributeValueMemberSS{Value: v}
	}
}

func (it factorItem) attributes() map[string]dynamoclient.AttributeValue {
	w := make(itemWriter, 18)
	w.str("pk", it.PK)
	w.str("sk", it.SK)
	w.str("id", it.ID)
	w.str("factorType", it.Type)
	w.str("label", it.Label)
	w.num("createdAt", it.CreatedAt)
	w.numOmit("lastUsedAt", it.LastUsedAt)
	w.bytesOmit("secret", it.Secret)
	w.numOmit("lastStep", it.LastStep)
	w.strOmit("destination", it.Destination)
	w.strOmit("region", it.Region)
	w.strOmit("masked", it.Masked)
	w.strOmit("addrKey", it.AddrKey)
	w.stringSetOmit("codes", it.Codes)
	w.bytesOmit("credentialId", it.CredentialID)
	w.bytesOmit("credential", it.Credential)
	w.numOmit("signCount", int64(it.SignCount))
	w.strOmit("locale", it.Locale)
	return w
}

func (it dataKeyItem) attributes() map[string]dynamoclient.AttributeValue {
	w := make(itemWriter, 4)
	w.str("pk", it.PK)
	w.str("sk", it.SK)
	w.bytes("wrapped", it.Wrapped)
	w.num("createdAt", it.CreatedAt)
	return w
}

func (it signKeyItem) attributes() map[string]dynamoclient.AttributeValue {
	w := make(itemWriter, 7)
	w.str("pk", it.PK)
	w.str("sk", it.SK)
	w.num("generation", int64(it.Generation))
	w.str("kid", it.KID)
	w.str("publicJwk", it.PublicJWK)
	w.bytes("sealedPrivate", it.Sealed)
	w.num("createdAt", it.CreatedAt)
	return w
}

func (it challengeItem) attributes() map[string]dynamoclient.AttributeValue {
	w := make(itemWriter, 5)
	w.str("pk", it.PK)
	w.str("sk", it.SK)
	w.bytes("passkeySession", it.PasskeySession)
	w.num("expiresAt", it.ExpiresAt)
	w.num("ttl", it.TTL)
	return w
}

func (c codeEntry) attributes() map[string]dynamoclient.AttributeValue {
	w := make(itemWriter, 6)
	w.str("f", c.FactorID)
	w.bytes("h", c.Hash)
	w.num("e", c.ExpiresAt)
	w.num("n", int64(c.Sends))
	w.num("l", c.LastSendAt)
	w.num("x", c.Until)
	return w
}

func (it seenItem) attributes() map[string]dynamoclient.AttributeValue {
	w := make(itemWriter, 6)
	w.str("pk", it.PK)
	w.str("sk", it.SK)
	w.str("kind", it.Kind)
	w.str("value", it.Value)
	w.num("seenAt", it.SeenAt)
	w.num("ttl", it.TTL)
	return w
}

func (it deviceItem) attributes() map[string]dynamoclient.AttributeValue {
	w := make(itemWriter, 10)
	w.str("pk", it.PK)
	w.str("sk", it.SK)
	w.str("id", it.ID)
	w.bytes("tokenHash", it.TokenHash)
	w.strOmit("label", it.Label)
	w.strOmit("ip", it.IP)
	w.num("createdAt", it.CreatedAt)
	w.numOmit("lastUsedAt", it.LastUsedAt)
	w.num("expiresAt", it.ExpiresAt)
	w.num("ttl", it.TTL)
	return w
}

func (it stepUpItem) attributes() map[string]dynamoclient.AttributeValue {
	w := make(itemWriter, 3)
	w.str("pk", it.PK)
	w.str("sk", it.SK)
	w.num("ttl", it.TTL)
	return w
}

func (it enrollmentItem) attributes() map[string]dynamoclient.AttributeValue {
	w := make(itemWriter, 17)
	w.str("pk", it.PK)
	w.str("sk", it.SK)
	w.str("id", it.ID)
	w.str("factorType", it.Type)
	w.str("label", it.Label)
	w.bytesOmit("secret", it.Secret)
	w.strOmit("destination", it.Destination)
	w.strOmit("region", it.Region)
	w.strOmit("masked", it.Masked)
	w.bytesOmit("codeHash", it.CodeHash)
	w.bytesOmit("session", it.Session)
	w.numOmit("attempts", int64(it.Attempts))
	w.strOmit("locale", it.Locale)
	w.num("createdAt", it.CreatedAt)
	w.num("expiresAt", it.ExpiresAt)
	w.num("ttl", it.TTL)
	w.strOmit("org", it.Org)
	return w
}

// attributes of the audit item: every answer's write carries one.
func (it auditItem) attributes() map[string]dynamoclient.AttributeValue {
	w := make(itemWriter, 14)
	w.str("pk", it.PK)
	w.str("sk", it.SK)
	w.str("action", it.Action)
	w.str("actor", it.Actor)
	w.str("userId", it.UserID)
	w.strOmit("factorId", it.FactorID)
	w.strOmit("factorType", it.FactorType)
	w.strOmit("challengeId", it.ChallengeID)
	w.str("outcome", it.Outcome)
	w.strOmit("reason", it.Reason)
	w.strOmit("ip", it.IP)
	w.strOmit("userAgent", it.UserAgent)
	w.num("at", it.At)
	w.num("ttl", it.TTL)
	return w
}

// readDataKeyItem reads the wrapped data key (dataKeyItem).
func readDataKeyItem(item map[string]dynamoclient.AttributeValue) (dataKeyItem, error) {
	r := itemReader{item: item}
	it := dataKeyItem{PK: r.str("pk"), SK: r.str("sk"), Wrapped: r.bytes("wrapped"), CreatedAt: r.int64("createdAt")}
	return it, r.err
}

// readChallengeItem reads a stored challenge (challengeItem).
func readChallengeItem(item map[string]dynamoclient.AttributeValue) (challengeItem, error) {
	r := itemReader{item: item}
	it := challengeItem{PK: r.str("pk"), SK: r.str("sk"), PasskeySession: r.bytes("passkeySession"), ExpiresAt: r.int64("expiresAt"), TTL: r.int64("ttl")}
	return it, r.err
}

// readPolicyItem reads a stored policy (policyItem).
func readPolicyItem(item map[string]dynamoclient.AttributeValue) (policyItem, error) {
	r := itemReader{item: item}
	it := policyItem{
		PK: r.str("pk"), SK: r.str("sk"), Doc: r.str("doc"), Format: r.str("format"), Version: r.int("version"),
		UpdatedAt: r.int64("updatedAt"), UpdatedBy: r.str("updatedBy"),
	}
	return it, r.err
}

// readAuditItem reads an audit event (auditItem).
func readAuditItem(item map[string]dynamoclient.AttributeValue) (auditItem, error) {
	r := itemReader{item: item}
	it := auditItem{
		PK: r.str("pk"), SK: r.str("sk"), Action: r.str("action"), Actor: r.str("actor"), UserID: r.str("userId"),
		FactorID: r.str("factorId"), FactorType: r.str("factorType"), ChallengeID: r.str("challengeId"),
		Outcome: r.str("outcome"), Reason: r.str("reason"), IP: r.str("ip"), UserAgent: r.str("userAgent"),
		At: r.int64("at"), TTL: r.int64("ttl"),
	}
	return it, r.err
}

// readEnrollmentItem reads an enrollment in progress (enrollmentItem).
func readEnrollmentItem(item map[string]dynamoclient.AttributeValue) (enrollmentItem, error) {
	r := itemReader{item: item}
	it := enrollmentItem{
		PK: r.str("pk"), SK: r.str("sk"), ID: r.str("id"), Type: r.str("factorType"), Label: r.str("label"),
		Secret: r.bytes("secret"), Destination: r.str("destination"), Region: r.str("region"), Masked: r.str("masked"),
		CodeHash: r.bytes("codeHash"), Session: r.bytes("session"), Attempts: r.int("attempts"), Locale: r.str("locale"),
		CreatedAt: r.int64("createdAt"), ExpiresAt: r.int64("expiresAt"), TTL: r.int64("ttl"), Org: r.str("org"),
	}
	return it, r.err
}
