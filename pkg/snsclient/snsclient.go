// Package snsclient makes the one SNS call of the service, Publish of an SMS, for pkg/notify.
// It speaks SNS's Query protocol (a form in, XML out) through pkg/awsapi, which signs with
// the SDK's SigV4 signer, takes the SDK's credentials, HTTP client, retry rules and APIOptions
// from the aws.Config, and resolves the endpoint as the SDK's SNS client does.
//
// Why not the SDK's SNS client: it is the last SDK service client besides DynamoDB's that the
// sending functions link, and from v1.48.0 its package initialisers build the schema of every
// SNS shape in every cold start, for one call in a few of their requests.
// TestRequestsAreTheSDKs, TestEndpointsAreTheSDKs, awsapi's endpoint tests and the tests
// against moto hold it to the SDK's client.
package snsclient

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/awsapi"
)

// service is SNS as the SDK's client names it (sns.ServiceID, its signing name "sns" and its
// endpoints sns.<region>…, whose FIPS form in GovCloud is the regional host itself).
var service = awsapi.Service{ID: "SNS", SigningName: "sns", HostPrefix: "sns", RegionalFIPS: []string{"us-gov-east-1", "us-gov-west-1"}}

// query is SNS's Query protocol: the input as a form, a successful answer as XML into the
// call's out, an error answer as <ErrorResponse>.
var query = awsapi.Codec{
	Encode: func(in any) ([]byte, error) {
		form, ok := in.(url.Values)
		if !ok {
			return nil, fmt.Errorf("snsclient: input %T is not a form", in)
		}
		return []byte(form.Encode()), nil // sorted by key, as the SDK's encoder writes it
	},
	Decode: xml.Unmarshal,
	Error:  queryError,
}

// publish is SNS's Publish operation (POST / with Action=Publish in the form).
var publish = awsapi.Operation{Name: "Publish", Method: http.MethodPost, Path: "/",
	Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Codec: query}

// Client calls SNS.
type Client struct {
	c *awsapi.Client
}

// APIError is an error SNS answered (its Service is "SNS"), e.g. InvalidParameter, Throttling.
type APIError = awsapi.APIError

// New makes a client from cfg: its region, credentials, HTTP client (the SDK's default when
// unset) and retryer (the SDK's standard one when unset); the endpoint is
// AWS_ENDPOINT_URL_SNS or a profile's (through cfg's config sources), else cfg.BaseEndpoint,
// else SNS's endpoint in the region's partition (FIPS or dual-stack when the config says so).
func New(cfg aws.Config) (*Client, error) {
	c, err := awsapi.New(cfg, service)
	if err != nil {
		return nil, fmt.Errorf("snsclient: %w", err)
	}
	return &Client{c}, nil
}

// SMS is one text message to a phone number.
type SMS struct {
	PhoneNumber string // E.164, e.g. +447700900123
	Message     string
	// SMSType is the AWS.SNS.SMS.SMSType attribute, "Transactional" or "Promotional";
	// empty: not sent (the account's default applies).
	SMSType string
	// SenderID is the AWS.SNS.SMS.SenderID attribute; empty: not sent.
	SenderID string
}

// form is Publish's input for m as the SDK's client encodes it: the message attributes as
// map entries numbered from 1 in the order of their names, each a String.
func (m SMS) form() url.Values {
	v := url.Values{"Action": {"Publish"}, "Version": {"2010-03-31"}, "PhoneNumber": {m.PhoneNumber}, "Message": {m.Message}}
	attrs := map[string]string{}
	if m.SMSType != "" {
		attrs["AWS.SNS.SMS.SMSType"] = m.SMSType
	}
	if m.SenderID != "" {
		attrs["AWS.SNS.SMS.SenderID"] = m.SenderID
	}
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for i, name := range names {
		entry := "MessageAttributes.entry." + strconv.Itoa(i+1)
		v.Set(entry+".Name", name)
		v.Set(entry+".Value.DataType", "String")
		v.Set(entry+".Value.StringValue", attrs[name])
	}
	return v
}

// Publish sends m and returns the id SNS gave the message. The config's APIOptions middleware
// sees the call as the SDK's SNS Publish, with m as its parameters.
func (c *Client) Publish(ctx context.Context, m SMS) (messageID string, err error) {
	var out struct {
		MessageID string `xml:"PublishResult>MessageId"`
	}
	if err := c.c.Call(ctx, publish, m, m.form(), &out); err != nil {
		return "", err
	}
	return out.MessageID, nil
}

// queryError reads the Query protocol's error answer,
// <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>, as the
// SDK's client does; the request id falls back to the header when the body has none (a
// proxy's answer, say).
func queryError(header http.Header, data []byte) (code, message, requestID string) {
	var body struct {
		Code      string `xml:"Error>Code"`
		Message   string `xml:"Error>Message"`
		RequestID string `xml:"RequestId"`
	}
	_ = xml.Unmarshal(data, &body)
	requestID = body.RequestID
	if requestID == "" {
		requestID = header.Get("X-Amzn-Requestid")
	}
	return body.Code, body.Message, requestID
}
