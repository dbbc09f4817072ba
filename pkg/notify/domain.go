package notify

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// ForDomain builds the domain's notifier (mfa.Notifier) on SES v2 and SNS clients made from
// one AWS config: what the functions that send codes and notices pass to the composition
// root, which itself links neither client.
func ForDomain(c aws.Config, cfg Config) (mfa.Notifier, error) {
	n, err := FromAWS(c, cfg)
	if err != nil {
		return nil, err
	}
	return domainNotifier{n}, nil
}

// domainNotifier lets the domain's Notifier port use the SES/SNS notifier.
type domainNotifier struct{ n *Notifier }

func (a domainNotifier) SendCode(ctx context.Context, channel mfa.FactorType, dest, code, purpose, lang string, ttl time.Duration) error {
	if channel == mfa.TypeSMS {
		return a.n.SendSMSCode(ctx, dest, code, purpose, lang, ttl)
	}
	return a.n.SendEmailCode(ctx, dest, code, purpose, lang, ttl)
}

func (a domainNotifier) SendSecurityNotice(ctx context.Context, to string, n mfa.Notice) error {
	return a.n.SendSecurityNotice(ctx, to, Notice{Kind: n.Kind, FactorType: string(n.FactorType), Label: n.Label, At: n.At, IP: n.IP, Locale: n.Locale})
}
