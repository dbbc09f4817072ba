// Package dynamoclient makes the DynamoDB calls of the service's store (GetItem, PutItem,
// UpdateItem, DeleteItem, Query, BatchGetItem, BatchWriteItem, TransactWriteItems) in
// DynamoDB's JSON protocol through pkg/awsapi, which signs with the SDK's SigV4 signer and
// takes the SDK's credentials, HTTP client, retry rules and APIOptions (middleware that counts
// or traces calls) from the aws.Config. Its types are named and shaped as the SDK's
// (dynamodb.QueryInput, types.AttributeValueMemberS, types.ConditionalCheckFailedException…),
// with the members the service uses; as the SDK's client, it fills a transaction's
// ClientRequestToken when none is given, checks each answer's CRC32, retries as the SDK's
// DynamoDB client does (4 attempts, a 25 ms base delay) and resolves the endpoint as it does
// for credentials without an account id (awsenv's never carry one). Where it is stricter than
// the SDK's, it fails closed: an empty answer, or one that is not a single JSON value, is an
// error (the SDK reads an empty one as an empty output, a GetItem's "no item"), and malformed
// JSON is an error, never a panic (FuzzQueryAnswersAreTheSDKs has one on which the SDK's
// deserializer panics).
//
// Why not the SDK's DynamoDB client: its package initialisers build the schema of every
// DynamoDB shape (590 KB of heap, 3,150 allocations, 2.5–5 ms) and its endpoint rules in
// every cold start of every function, its binary is a few MB, and each call builds a stack of
// about 40 middlewares. TestRequestsAreTheSDKs, TestAnswersAreTheSDKs,
// TestEndpointsAreTheSDKs and the store's suite against moto hold this one to it.
package dynamoclient

import (
	"context"
	"crypto/rand"
	"fmt"
	"hash/crc32"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/mfa-service/mfa/pkg/awsapi"
)

// service is DynamoDB as the SDK's client names it; its FIPS endpoints in GovCloud are the
// regional ones.
var service = awsapi.Service{
	ID: "DynamoDB", SigningName: "dynamodb", HostPrefix: "dynamodb",
	RegionalFIPS: []string{"us-gov-east-1", "us-gov-west-1"},
	Retryer: func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 4
			o.BaseDelay = 25 * time.Millisecond
		})
	},
	MaxAnswer: 20 << 20, // a BatchGetItem answers up to 16 MB
}

// Client calls DynamoDB.
type Client struct {
	c *awsapi.Client
}

// New makes a client from cfg: its region, credentials, HTTP client (the SDK's default when
// unset) and retryer (DynamoDB's when unset); the endpoint is AWS_ENDPOINT_URL_DYNAMODB or a
// profile's (through cfg's config sources), else cfg.BaseEndpoint, else DynamoDB's endpoint in
// the region's partition (FIPS or dual-stack when the config says so).
func New(cfg aws.Config) (*Client, error) {
	c, err := awsapi.New(cfg, service)
	if err != nil {
		return nil, fmt.Errorf("dynamoclient: %w", err)
	}
	return &Client{c}, nil
}

// codec writes each input by hand and reads each answer in one pass (encode.go, decode.go),
// checks the answer's CRC32 and makes DynamoDB's typed errors.
var codec = awsapi.Codec{
	Encode: func(in any) ([]byte, error) {
		w := &writer{b: make([]byte, 0, 512)}
		in.(interface{ appendJSON(*writer) }).appendJSON(w)
		return w.b, nil
	},
	Decode: func(data []byte, out any) error {
		return out.(interface{ decode([]byte) error }).decode(data)
	},
	Check: checkCRC32,
	Fail:  typedError,
}

// operation is a DynamoDB operation in the JSON 1.0 protocol. Accept-Encoding is identity, as
// the SDK's client asks, so that the CRC32 is of the body as read.
func operation(name string) awsapi.Operation {
	return awsapi.Operation{Name: name, Method: http.MethodPost, Path: "/", Codec: codec, Header: http.Header{
		"Content-Type":    {"application/x-amz-json-1.0"},
		"X-Amz-Target":    {"DynamoDB_20120810." + name},
		"Accept-Encoding": {"identity"},
	}}
}

// The operations, built once.
var (
	opGetItem            = operation("GetItem")
	opPutItem            = operation("PutItem")
	opUpdateItem         = operation("UpdateItem")
	opDeleteItem         = operation("DeleteItem")
	opQuery              = operation("Query")
	opBatchGetItem       = operation("BatchGetItem")
	opBatchWriteItem     = operation("BatchWriteItem")
	opTransactWriteItems = operation("TransactWriteItems")
)

// checkCRC32 checks the body against X-Amz-Crc32, when the answer has one.
func checkCRC32(header http.Header, data []byte) error {
	v := header.Get("X-Amz-Crc32")
	if v == "" {
		return nil
	}
	want, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return fmt.Errorf("unable to parse checksum header %v, %w", v, err)
	}
	if got := crc32.ChecksumIEEE(data); got != uint32(want) {
		return fmt.Errorf("response did not match expected checksum, %d, %d", want, got)
	}
	return nil
}

// call runs op and reads its answer into a new O: in is also what the config's middleware
// sees as the call's parameters (so a meter may ask it for its consumed capacity), the
// output what it sees as the result.
func call[O any](ctx context.Context, c *Client, op awsapi.Operation, in any) (*O, error) {
	out := new(O)
	if err := c.c.Call(ctx, op, in, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetItem reads one item.
func (c *Client) GetItem(ctx context.Context, in *GetItemInput) (*GetItemOutput, error) {
	return call[GetItemOutput](ctx, c, opGetItem, in)
}

// PutItem writes one item.
func (c *Client) PutItem(ctx context.Context, in *PutItemInput) (*PutItemOutput, error) {
	return call[PutItemOutput](ctx, c, opPutItem, in)
}

// UpdateItem changes one item.
func (c *Client) UpdateItem(ctx context.Context, in *UpdateItemInput) (*UpdateItemOutput, error) {
	return call[UpdateItemOutput](ctx, c, opUpdateItem, in)
}

// DeleteItem removes one item.
func (c *Client) DeleteItem(ctx context.Context, in *DeleteItemInput) (*DeleteItemOutput, error) {
	return call[DeleteItemOutput](ctx, c, opDeleteItem, in)
}

// Query reads a page of one partition's items.
func (c *Client) Query(ctx context.Context, in *QueryInput) (*QueryOutput, error) {
	return call[QueryOutput](ctx, c, opQuery, in)
}

// BatchGetItem reads items by key.
func (c *Client) BatchGetItem(ctx context.Context, in *BatchGetItemInput) (*BatchGetItemOutput, error) {
	return call[BatchGetItemOutput](ctx, c, opBatchGetItem, in)
}

// BatchWriteItem writes items (puts and deletes), not as a transaction.
func (c *Client) BatchWriteItem(ctx context.Context, in *BatchWriteItemInput) (*BatchWriteItemOutput, error) {
	return call[BatchWriteItemOutput](ctx, c, opBatchWriteItem, in)
}

// TransactWriteItems writes items all or none. Without a ClientRequestToken it makes one (a
// random UUID) for the call, which its retries share, as the SDK's client does: a retry of a
// transaction that went through is then answered as the first.
func (c *Client) TransactWriteItems(ctx context.Context, in *TransactWriteItemsInput) (*TransactWriteItemsOutput, error) {
	if in.ClientRequestToken == nil {
		withToken := *in
		token := newUUID()
		withToken.ClientRequestToken = &token
		in = &withToken
	}
	return call[TransactWriteItemsOutput](ctx, c, opTransactWriteItems, in)
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	b := make([]byte, 0, 36)
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hex[x>>4], hex[x&0xf])
	}
	return string(b)
}
