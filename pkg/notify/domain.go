package notify

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// Domain builds the domain's Notifier port (mfa.Notifier) on SES v2 and SNS clients made from
// one AWS config. Only the functions that send call it, so only they link those clients.
func Domain(c aws.Config, cfg Config) (mfa.Notifier, error) {
	n, err := FromAWS(c, cfg)
	if err != nil {
		return nil, err
	}
	return DomainPort{n}, nil
}

// DomainPort lets the domain's Notifier port use a Notifier.
type DomainPort struct{ N *Notifier }

// SendCode sends an email or SMS code.
func (a DomainPort) SendCode(ctx context.Context, channel mfa.FactorType, dest, code, purpose, lang string, ttl time.Duration) error {
	if channel == mfa.TypeSMS {
		return a.N.SendSMSCode(ctx, dest, code, purpose, lang, ttl)
	}
	return a.N.SendEmailCode(ctx, dest, code, purpose, lang, ttl)
}

// SendSecurityNotice sends a notice that a user's factors changed.
func (a DomainPort) SendSecurityNotice(ctx context.Context, to string, n mfa.Notice) error {
	return a.N.SendSecurityNotice(ctx, to, Notice{Kind: n.Kind, FactorType: string(n.FactorType), Label: n.Label, At: n.At, IP: n.IP, Locale: n.Locale})
}
