// Package kmsclient makes the two KMS calls of the keyring (pkg/seal): Decrypt, which unwraps
// the data key once per cold start, and GenerateDataKey, which makes it the first time the
// service runs. It speaks KMS's JSON protocol through pkg/awsapi, which signs with the SDK's
// SigV4 signer, takes the SDK's credentials, HTTP client, retry rules and APIOptions
// (middleware that counts or traces calls) from the aws.Config, and resolves the endpoint as
// the SDK's KMS client does.
//
// Why not the SDK's KMS client: its package initialisers build the schema of every KMS shape
// and its endpoint rules (about 430 KB of heap, 1.5 ms) in every function that unwraps the
// key, and its first call pays for a second middleware stack: together about 2–3 ms of the
// 50 ms cold-start budget for two calls per container (make bench, -coldstart-compare).
// TestRequestsAreTheSDKs, TestEndpointsAreTheSDKs, awsapi's endpoint tests and the tests
// against moto hold it to the SDK's client.
package kmsclient

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/awsapi"
)

// service is KMS as the SDK's client names it (kms.ServiceID, signing name and endpoint).
var service = awsapi.Service{ID: "KMS", SigningName: "kms", HostPrefix: "kms"}

// Client calls KMS.
type Client struct {
	c *awsapi.Client
}

// APIError is an error KMS answered (its Service is "KMS").
type APIError = awsapi.APIError

// New makes a client from cfg: its region, credentials, HTTP client (the SDK's default when
// unset) and retryer (the SDK's standard one when unset); the endpoint is
// AWS_ENDPOINT_URL_KMS or a profile's (through cfg's config sources), else cfg.BaseEndpoint,
// else KMS's endpoint in the region's partition (FIPS or dual-stack when the config says so).
func New(cfg aws.Config) (*Client, error) {
	c, err := awsapi.New(cfg, service)
	if err != nil {
		return nil, fmt.Errorf("kmsclient: %w", err)
	}
	return &Client{c}, nil
}

// operation is a KMS operation in the JSON 1.1 protocol: posted to the endpoint, named by
// X-Amz-Target.
func operation(name string) awsapi.Operation {
	return awsapi.Operation{Name: name, Method: http.MethodPost, Path: "/", Header: http.Header{
		"Content-Type": {"application/x-amz-json-1.1"},
		"X-Amz-Target": {"TrentService." + name},
	}}
}

// Decrypt unwraps a data key wrapped under keyID with encryptionContext.
func (c *Client) Decrypt(ctx context.Context, keyID string, wrapped []byte, encryptionContext map[string]string) ([]byte, error) {
	in := struct {
		CiphertextBlob    []byte            `json:"CiphertextBlob"`
		EncryptionContext map[string]string `json:"EncryptionContext,omitempty"`
		KeyID             string            `json:"KeyId,omitempty"`
	}{wrapped, encryptionContext, keyID}
	var out struct {
		Plaintext []byte `json:"Plaintext"`
	}
	// awsapi clears the answer's buffer once decoded: it held the plaintext key.
	if err := c.c.Call(ctx, operation("Decrypt"), in, in, &out); err != nil {
		return nil, err
	}
	return out.Plaintext, nil
}

// GenerateDataKey makes a 256-bit data key under keyID, bound to encryptionContext, and
// returns it in plaintext and wrapped.
func (c *Client) GenerateDataKey(ctx context.Context, keyID string, encryptionContext map[string]string) (plaintext, wrapped []byte, err error) {
	in := struct {
		EncryptionContext map[string]string `json:"EncryptionContext,omitempty"`
		KeyID             string            `json:"KeyId"`
		KeySpec           string            `json:"KeySpec"`
	}{encryptionContext, keyID, "AES_256"}
	var out struct {
		CiphertextBlob []byte `json:"CiphertextBlob"`
		Plaintext      []byte `json:"Plaintext"`
	}
	if err := c.c.Call(ctx, operation("GenerateDataKey"), in, in, &out); err != nil {
		return nil, nil, err
	}
	return out.Plaintext, out.CiphertextBlob, nil
}
