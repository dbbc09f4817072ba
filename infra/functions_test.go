package infra_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Each function's main builds only what it uses, with the builders of pkg/app, so what it
// imports (directly or not) says what it does: a function that sends nothing links no SES or
// SNS client, one that never takes a new number no phone metadata, one that runs no WebAuthn
// ceremony no go-webauthn, and the public ones no KMS and no domain; none links the SDK's
// DynamoDB, KMS, SES v2, SNS or EventBridge client or attributevalue. The packages each function must import prove the lists
// are read at all.
func TestFunctionsImportWhatTheyUse(t *testing.T) {
	const (
		ses    = "github.com/mfa-service/mfa/pkg/sesclient"
		sdkSES = "github.com/aws/aws-sdk-go-v2/service/sesv2" // pkg/sesclient makes its one call
		sns    = "github.com/mfa-service/mfa/pkg/snsclient"
		sdkSNS = "github.com/aws/aws-sdk-go-v2/service/sns" // pkg/snsclient makes its one call
		kms    = "github.com/mfa-service/mfa/pkg/kmsclient"
		sdkKMS = "github.com/aws/aws-sdk-go-v2/service/kms" // pkg/kmsclient makes its two calls
		// pkg/dynamostore reads and writes its items by hand (convert.go): attributevalue
		// would bring its reflection and the streams API's schemas into every cold start.
		attributevalue = "github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
		notify         = "github.com/mfa-service/mfa/pkg/notify"
		phone          = "github.com/mfa-service/mfa/pkg/contact/phone"
		webauthn       = "github.com/go-webauthn/webauthn/webauthn"
		domain         = "github.com/mfa-service/mfa/pkg/mfa"
		dynamo         = "github.com/mfa-service/mfa/pkg/dynamoclient"
		// pkg/dynamoclient makes the store's calls: the SDK's client would build the schema
		// of every DynamoDB shape in every cold start.
		sdkDynamo = "github.com/aws/aws-sdk-go-v2/service/dynamodb"
		events    = "github.com/mfa-service/mfa/pkg/eventsclient"
		sdkEvents = "github.com/aws/aws-sdk-go-v2/service/eventbridge" // pkg/eventsclient makes its one call
	)
	tests := []struct {
		function  string
		must, not []string
	}{
		{"verify", []string{domain, kms, webauthn}, []string{ses, sns, notify, phone}},
		{"cognito-verify", []string{domain, kms, webauthn}, []string{ses, sns, notify, phone}},
		{"cognito-define", []string{domain, kms}, []string{ses, sns, notify, phone, webauthn}},
		{"cognito-create", []string{notify, ses, sns, webauthn}, []string{phone}},
		{"challenge", []string{notify, ses, sns, webauthn}, []string{phone}},
		{"enrollment", []string{notify, phone, webauthn}, nil},
		{"admin", []string{notify, phone}, []string{webauthn}},
		{"jwks", []string{dynamo}, []string{kms, domain, ses, sns, webauthn}},
		{"ui", nil, []string{kms, domain, dynamo, ses, sns, webauthn}},
		{"audit-writer", []string{dynamo}, []string{kms, domain, ses, sns, webauthn, phone, events}},
		{"event-publisher", []string{events}, []string{kms, dynamo, ses, sns, webauthn, phone}},
	}
	for _, tc := range tests {
		t.Run(tc.function, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "./functions/"+tc.function)
			cmd.Dir = ".."
			cmd.Env = append(cmd.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			deps := strings.Fields(string(out))
			for _, p := range tc.must {
				if !slices.Contains(deps, p) {
					t.Errorf("functions/%s does not import %s", tc.function, p)
				}
			}
			for _, p := range append(tc.not, sdkKMS, sdkSES, sdkSNS, sdkDynamo, sdkEvents, attributevalue) {
				if slices.Contains(deps, p) {
					t.Errorf("functions/%s imports %s, which it never uses", tc.function, p)
				}
			}
		})
	}
}
