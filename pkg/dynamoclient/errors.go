package dynamoclient

import (
	"github.com/aws/smithy-go"

	"github.com/mfa-service/mfa/pkg/awsapi"
)

// APIError is an error DynamoDB answered that has no type of its own here (its Service is
// "DynamoDB"); ErrorCode names it, e.g. ProvisionedThroughputExceededException.
type APIError = awsapi.APIError

// ConditionalCheckFailedException: a write's condition was false. Item is the item as it was,
// when the write asked for it (ReturnValuesOnConditionCheckFailure ALL_OLD).
type ConditionalCheckFailedException struct {
	Message *string
	Item    map[string]AttributeValue

	api *awsapi.APIError
}

// CancellationReason is why a transaction's action was cancelled: Code "None" for an action
// that was not the cause, "ConditionalCheckFailed" (with Item when asked for),
// "TransactionConflict", …
type CancellationReason struct {
	Code    *string
	Message *string
	Item    map[string]AttributeValue
}

// TransactionCanceledException: a transaction was cancelled; CancellationReasons has one
// reason per action, in order.
type TransactionCanceledException struct {
	Message             *string
	CancellationReasons []CancellationReason

	api *awsapi.APIError
}

func (e *ConditionalCheckFailedException) Error() string { return e.api.Error() }

// ErrorCode is "ConditionalCheckFailedException".
func (e *ConditionalCheckFailedException) ErrorCode() string { return e.api.Code }

// ErrorMessage is DynamoDB's message.
func (e *ConditionalCheckFailedException) ErrorMessage() string { return e.api.Message }

// ErrorFault is the client's.
func (e *ConditionalCheckFailedException) ErrorFault() smithy.ErrorFault { return e.api.ErrorFault() }

// Unwrap is the answer's APIError (its status and request id).
func (e *ConditionalCheckFailedException) Unwrap() error { return e.api }

func (e *TransactionCanceledException) Error() string { return e.api.Error() }

// ErrorCode is "TransactionCanceledException".
func (e *TransactionCanceledException) ErrorCode() string { return e.api.Code }

// ErrorMessage is DynamoDB's message.
func (e *TransactionCanceledException) ErrorMessage() string { return e.api.Message }

// ErrorFault is the client's.
func (e *TransactionCanceledException) ErrorFault() smithy.ErrorFault { return e.api.ErrorFault() }

// Unwrap is the answer's APIError (its status and request id).
func (e *TransactionCanceledException) Unwrap() error { return e.api }

var (
	_ smithy.APIError = (*ConditionalCheckFailedException)(nil)
	_ smithy.APIError = (*TransactionCanceledException)(nil)
)

// typedError makes the error of an error answer: DynamoDB's two typed errors the store reads
// (with their items and reasons), else e.
func typedError(e *awsapi.APIError, data []byte) error {
	var message *string
	if e.Message != "" {
		m := e.Message
		message = &m
	}
	switch e.Code {
	case "ConditionalCheckFailedException":
		out := &ConditionalCheckFailedException{Message: message, api: e}
		err := decode(data, func(r *reader, name string) (err error) {
			if name == "Item" {
				out.Item, err = r.item()
				return err
			}
			return r.skip()
		})
		if err != nil {
			return e
		}
		return out
	case "TransactionCanceledException":
		out := &TransactionCanceledException{Message: message, api: e}
		err := decode(data, func(r *reader, name string) error {
			if name != "CancellationReasons" {
				return r.skip()
			}
			out.CancellationReasons = []CancellationReason{}
			return r.array(func() error {
				var reason CancellationReason
				err := r.object(func(name string) (err error) {
					switch name {
					case "Code":
						err = r.optString(&reason.Code)
					case "Message":
						err = r.optString(&reason.Message)
					case "Item":
						reason.Item, err = r.item()
					default:
						err = r.skip()
					}
					return err
				})
				out.CancellationReasons = append(out.CancellationReasons, reason)
				return err
			})
		})
		if err != nil {
			return e
		}
		return out
	}
	return e
}
