// Package sesclient makes the one SES v2 call of the service, SendEmail, for pkg/notify. It
// speaks SES v2's REST-JSON protocol through pkg/awsapi, which signs with the SDK's SigV4
// signer, takes the SDK's credentials, HTTP client, retry rules and APIOptions from the
// aws.Config, and resolves the endpoint as the SDK's SES v2 client does.
//
// Why not the SDK's SES v2 client: its package initialisers (the schema of every SES v2
// shape, its endpoint tables) cost every cold start of a function that sends email about
// 2.5 ms and 660 KB of heap, for one call in a few of its requests. TestRequestsAreTheSDKs,
// TestEndpointsAreTheSDKs, awsapi's endpoint tests and the tests against moto hold it to the
// SDK's client.
package sesclient

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/awsapi"
)

// service is SES v2 as the SDK's client names it (sesv2.ServiceID, its signing name "ses"
// and its endpoints email.<region>…).
var service = awsapi.Service{ID: "SESv2", SigningName: "ses", HostPrefix: "email"}

// sendEmail is SES v2's SendEmail operation (POST /v2/email/outbound-emails).
var sendEmail = awsapi.Operation{Name: "SendEmail", Method: http.MethodPost, Path: "/v2/email/outbound-emails",
	Header: http.Header{"Content-Type": {"application/json"}}}

// Client calls SES v2.
type Client struct {
	c *awsapi.Client
}

// APIError is an error SES answered (its Service is "SESv2"), e.g. MessageRejected.
type APIError = awsapi.APIError

// New makes a client from cfg: its region, credentials, HTTP client (the SDK's default when
// unset) and retryer (the SDK's standard one when unset); the endpoint is
// AWS_ENDPOINT_URL_SESV2 or a profile's (through cfg's config sources), else
// cfg.BaseEndpoint, else SES's endpoint in the region's partition (FIPS or dual-stack when
// the config says so).
func New(cfg aws.Config) (*Client, error) {
	c, err := awsapi.New(cfg, service)
	if err != nil {
		return nil, fmt.Errorf("sesclient: %w", err)
	}
	return &Client{c}, nil
}

// Email is one simple email (SES builds the MIME message). Its texts go out as UTF-8.
type Email struct {
	// From is the From header's value, e.g. `"Acme" <no-reply@example.com>`, as pkg/notify
	// formats it; its address is a verified identity.
	From    string
	To      []string // bare addresses, domains in Punycode (SES takes no SMTPUTF8)
	Subject string
	Text    string // the plain-text body; empty: none
	HTML    string // the HTML body; empty: none
}

// content is SES's Content: UTF-8, since SES assumes 7-bit ASCII when no charset is given.
type content struct {
	Charset string `json:"Charset"`
	Data    string `json:"Data"`
}

func utf8(s string) *content { return &content{Charset: "UTF-8", Data: s} }

// sendEmailInput is SendEmailRequest with the members this client sends.
type sendEmailInput struct {
	Content struct {
		Simple struct {
			Body struct {
				HTML *content `json:"Html,omitempty"`
				Text *content `json:"Text,omitempty"`
			} `json:"Body"`
			Subject *content `json:"Subject"`
		} `json:"Simple"`
	} `json:"Content"`
	Destination struct {
		ToAddresses []string `json:"ToAddresses,omitempty"`
	} `json:"Destination"`
	FromEmailAddress string `json:"FromEmailAddress"`
}

// SendEmail sends m and returns the id SES gave the message. The config's APIOptions
// middleware sees the call as the SDK's SESv2 SendEmail, with m as its parameters.
func (c *Client) SendEmail(ctx context.Context, m Email) (messageID string, err error) {
	var in sendEmailInput
	in.FromEmailAddress = m.From
	in.Destination.ToAddresses = m.To
	in.Content.Simple.Subject = utf8(m.Subject)
	if m.Text != "" {
		in.Content.Simple.Body.Text = utf8(m.Text)
	}
	if m.HTML != "" {
		in.Content.Simple.Body.HTML = utf8(m.HTML)
	}
	var out struct {
		MessageID string `json:"MessageId"`
	}
	if err := c.c.Call(ctx, sendEmail, m, in, &out); err != nil {
		return "", err
	}
	return out.MessageID, nil
}
