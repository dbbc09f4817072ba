package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/middleware"

	"github.com/mfa-service/mfa/infra/bench/runtimeapi"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/samtemplate"
	"github.com/mfa-service/mfa/pkg/sesclient"
	"github.com/mfa-service/mfa/pkg/snsclient"
)

const repoRoot = "../.."

func TestFunctionsFromTheMakefile(t *testing.T) {
	fns, err := functionsFromMakefile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) < 8 {
		t.Fatalf("only %d functions: %v", len(fns), fns)
	}
	seen := map[string]bool{}
	for _, f := range fns {
		seen[f.LogicalID+":"+f.Dir] = true
		if _, err := os.Stat(filepath.Join(repoRoot, "functions", f.Dir, "main.go")); err != nil {
			t.Errorf("%s: %v", f.Dir, err)
		}
	}
	for _, want := range []string{"EnrollmentFunction:enrollment", "VerifyFunction:verify", "CognitoVerifyFunction:cognito-verify"} {
		if !seen[want] {
			t.Errorf("%s missing from %v", want, fns)
		}
	}
}

func TestFunctionsParsing(t *testing.T) {
	dir := t.TempDir()
	mk := filepath.Join(dir, "Makefile")
	os.WriteFile(mk, []byte("# FUNCTIONS = not:this\nGO ?= go\nFUNCTIONS := \\\n\tAFunction:a \\\n\tBFunction:b-c # a comment\n\nbuild: x\n\techo $(FUNCTIONS)\n"), 0o644)
	fns, err := functionsFromMakefile(mk)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 2 || fns[0] != (function{"AFunction", "a"}) || fns[1] != (function{"BFunction", "b-c"}) {
		t.Fatalf("got %v", fns)
	}
	for _, bad := range []string{"", "NoDir", "A:", ":a", "A:b:c"} {
		if _, err := parseFunctions(bad); err == nil {
			t.Errorf("parseFunctions(%q) accepted", bad)
		}
	}
	os.WriteFile(mk, []byte("all:\n"), 0o644)
	if _, err := functionsFromMakefile(mk); err == nil {
		t.Error("a Makefile without FUNCTIONS accepted")
	}
}

func s(v string) dynamoclient.AttributeValue { return &dynamoclient.AttributeValueMemberS{Value: v} }

func TestItemSize(t *testing.T) {
	item := map[string]dynamoclient.AttributeValue{
		"pk":    s("USER#a"),                                         // 2 + 6
		"n":     &dynamoclient.AttributeValueMemberN{Value: "12345"}, // 1 + 3 + 1
		"b":     &dynamoclient.AttributeValueMemberB{Value: make([]byte, 10)},
		"ok":    &dynamoclient.AttributeValueMemberBOOL{Value: true},                                              // 2 + 1
		"codes": &dynamoclient.AttributeValueMemberSS{Value: []string{"abc", "de"}},                               // 5 + 5
		"m":     &dynamoclient.AttributeValueMemberM{Value: map[string]dynamoclient.AttributeValue{"k": s("vv")}}, // 1 + 3 + 1+1+2
	}
	if got, want := itemSize(item), 8+5+11+3+10+8; got != want {
		t.Fatalf("itemSize = %d, want %d", got, want)
	}
	if numberSize("0.00120") != 2 || numberSize("-1e10") != 2 {
		t.Fatalf("numberSize: %d %d", numberSize("0.00120"), numberSize("-1e10"))
	}
}

func bigItem(bytes int) map[string]dynamoclient.AttributeValue {
	return map[string]dynamoclient.AttributeValue{"v": s(strings.Repeat("x", bytes-1))}
}

func TestEstimateUnits(t *testing.T) {
	yes, no := aws.Bool(true), aws.Bool(false)
	cases := []struct {
		name     string
		in, out  any
		rru, wru float64
	}{
		{"consistent GetItem of 5 KB", &dynamoclient.GetItemInput{ConsistentRead: yes}, &dynamoclient.GetItemOutput{Item: bigItem(5000)}, 2, 0},
		{"eventual GetItem of 5 KB", &dynamoclient.GetItemInput{ConsistentRead: no}, &dynamoclient.GetItemOutput{Item: bigItem(5000)}, 1, 0},
		{"GetItem not found", &dynamoclient.GetItemInput{ConsistentRead: yes}, &dynamoclient.GetItemOutput{}, 1, 0},
		{"failed GetItem", &dynamoclient.GetItemInput{}, nil, 0.5, 0},
		{"Query of 3 x 2 KB", &dynamoclient.QueryInput{ConsistentRead: yes}, &dynamoclient.QueryOutput{Items: []map[string]dynamoclient.AttributeValue{bigItem(2000), bigItem(2000), bigItem(2000)}}, 2, 0},
		{"BatchGetItem, one of two found", &dynamoclient.BatchGetItemInput{RequestItems: map[string]dynamoclient.KeysAndAttributes{"t": {ConsistentRead: yes, Keys: make([]map[string]dynamoclient.AttributeValue, 2)}}},
			&dynamoclient.BatchGetItemOutput{Responses: map[string][]map[string]dynamoclient.AttributeValue{"t": {bigItem(9000)}}}, 3 + 1, 0},
		{"PutItem of 1.5 KB", &dynamoclient.PutItemInput{Item: bigItem(1500)}, nil, 0, 2},
		{"UpdateItem", &dynamoclient.UpdateItemInput{}, nil, 0, 1},
		{"DeleteItem", &dynamoclient.DeleteItemInput{}, nil, 0, 1},
		{"TransactWriteItems: 2 WRU per item and KB", &dynamoclient.TransactWriteItemsInput{TransactItems: []dynamoclient.TransactWriteItem{
			{Put: &dynamoclient.Put{Item: bigItem(2000)}}, {Update: &dynamoclient.Update{}}, {ConditionCheck: &dynamoclient.ConditionCheck{}}, {Delete: &dynamoclient.Delete{}},
		}}, nil, 0, 2*2 + 2 + 2 + 2},
		{"BatchWriteItem", &dynamoclient.BatchWriteItemInput{RequestItems: map[string][]dynamoclient.WriteRequest{"t": {{PutRequest: &dynamoclient.PutRequest{Item: bigItem(3000)}}, {DeleteRequest: &dynamoclient.DeleteRequest{}}}}}, nil, 0, 3 + 1},
		{"not DynamoDB", sesclient.Email{}, nil, 0, 0},
	}
	for _, c := range cases {
		u := estimateUnits(c.in, c.out)
		if u.RRU != c.rru || u.WRU != c.wru {
			t.Errorf("%s: %+v, want RRU %v WRU %v", c.name, u, c.rru, c.wru)
		}
	}
	if n := transactItems(&dynamoclient.TransactWriteItemsInput{TransactItems: make([]dynamoclient.TransactWriteItem, 5)}); n != 5 {
		t.Errorf("transactItems = %d", n)
	}
}

func TestConsumedCapacity(t *testing.T) {
	ins := []any{&dynamoclient.GetItemInput{}, &dynamoclient.PutItemInput{}, &dynamoclient.UpdateItemInput{}, &dynamoclient.DeleteItemInput{}, &dynamoclient.QueryInput{},
		&dynamoclient.BatchGetItemInput{}, &dynamoclient.BatchWriteItemInput{}, &dynamoclient.TransactWriteItemsInput{}}
	for _, in := range ins {
		setReturnConsumedCapacity(in)
		b, _ := json.Marshal(in)
		if !strings.Contains(string(b), `"ReturnConsumedCapacity":"TOTAL"`) {
			t.Errorf("%T: %s", in, b)
		}
	}
	if cu, ok := consumedCapacity(&dynamoclient.TransactWriteItemsOutput{ConsumedCapacity: []dynamoclient.ConsumedCapacity{{CapacityUnits: aws.Float64(4)}, {CapacityUnits: aws.Float64(2)}}}); !ok || cu != 6 {
		t.Errorf("transact: %v %v", cu, ok)
	}
	if _, ok := consumedCapacity(&dynamoclient.TransactWriteItemsOutput{}); ok {
		t.Error("capacity reported where there was none")
	}
	if cu, ok := consumedCapacity(&dynamoclient.GetItemOutput{ConsumedCapacity: &dynamoclient.ConsumedCapacity{CapacityUnits: aws.Float64(0.5)}}); !ok || cu != 0.5 {
		t.Errorf("get: %v %v", cu, ok)
	}
}

// fakeAWS answers every request with a canned body and keeps the request bodies.
type fakeAWS struct {
	body     string
	requests []string
	delay    time.Duration
}

func (f *fakeAWS) Do(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	f.requests = append(f.requests, string(b))
	time.Sleep(f.delay)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}}, Body: io.NopCloser(strings.NewReader(f.body)), Request: r}, nil
}

func TestMeterMiddleware(t *testing.T) {
	m := newMeter()
	fake := &fakeAWS{body: `{"Item":{"pk":{"S":"USER#a"}},"ConsumedCapacity":{"TableName":"t","CapacityUnits":0.5}}`, delay: 2 * time.Millisecond}
	db, err := dynamoclient.New(aws.Config{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""),
		BaseEndpoint: aws.String("http://127.0.0.1:1"), HTTPClient: fake, APIOptions: []func(*middleware.Stack) error{m.middleware},
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func() {
		if _, err := db.GetItem(context.Background(), &dynamoclient.GetItemInput{TableName: aws.String("t"), Key: map[string]dynamoclient.AttributeValue{"pk": s("USER#a")}, ConsistentRead: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	get() // not recorded, but counted
	m.begin()
	get()
	get()
	st := m.end()
	if st.Dynamo != 2 || len(st.Calls) != 2 || st.Calls[0] != "DynamoDB.GetItem" || st.Units.RRU != 2 || st.MotoCU != 1 || st.MotoCUSeen != 2 {
		t.Fatalf("stats %+v", st)
	}
	if st.SDK < 4*time.Millisecond {
		t.Fatalf("SDK time %v, want at least the two 2 ms round trips", st.SDK)
	}
	if st.CPU < 0 || st.CPUOutsideSDK < 0 || st.CPUOutsideSDK > st.CPU {
		t.Fatalf("CPU %v, outside SDK %v", st.CPU, st.CPUOutsideSDK)
	}
	if m.count("DynamoDB") != 3 || m.count("KMS") != 0 {
		t.Fatalf("counts %v", m.snapshot())
	}
	for _, r := range fake.requests {
		if !strings.Contains(r, `"ReturnConsumedCapacity":"TOTAL"`) {
			t.Fatalf("request without ReturnConsumedCapacity: %s", r)
		}
	}
	if cov := m.capacityCoverage()["DynamoDB.GetItem"]; cov.Calls != 3 || cov.WithCU != 3 || cov.SumCU != 1.5 {
		t.Fatalf("coverage %+v", cov)
	}
	if note := capacityNote(m.capacityCoverage()); !strings.Contains(note, "GetItem 3/3 calls, 0.50 CU each") {
		t.Fatalf("note %q", note)
	}
	if note := capacityNote(map[string]capacityCoverage{"DynamoDB.Query": {Calls: 4}}); !strings.Contains(note, "no ConsumedCapacity on any of 4") {
		t.Fatalf("note %q", note)
	}

	// Codes are read out of the emails the service sends (through sesclient, as pkg/notify
	// does), and the sends are counted as emails.
	ses, err := sesclient.New(aws.Config{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""),
		BaseEndpoint: aws.String("http://127.0.0.1:1"), HTTPClient: &fakeAWS{body: `{"MessageId":"1"}`}, APIOptions: []func(*middleware.Stack) error{m.middleware},
	})
	if err != nil {
		t.Fatal(err)
	}
	text := "Your Bench verification code is 012345.\n\nEnter it to finish signing in.\n"
	m.begin()
	if _, err := ses.SendEmail(context.Background(), sesclient.Email{From: "mfa@example.com", To: []string{"ann@example.com"}, Subject: "s", Text: text, HTML: "<p>012345</p>"}); err != nil {
		t.Fatal(err)
	}
	if st := m.end(); st.Emails != 1 || len(st.Calls) != 1 || st.Calls[0] != "SESv2.SendEmail" {
		t.Fatalf("an email counted as %+v", st)
	}
	if code, n := m.emailCode("ann@example.com"); code != "012345" || n != 1 {
		t.Fatalf("email code %q (%d emails)", code, n)
	}
	if code, _ := m.emailCode("bob@example.com"); code != "" {
		t.Fatalf("a code for an address nobody wrote to: %q", code)
	}

	// An SMS (through snsclient, as pkg/notify sends it) is counted as one, not as an email.
	sns, err := snsclient.New(aws.Config{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""),
		BaseEndpoint: aws.String("http://127.0.0.1:1"), HTTPClient: &fakeAWS{body: `<PublishResponse><PublishResult><MessageId>2</MessageId></PublishResult></PublishResponse>`},
		APIOptions: []func(*middleware.Stack) error{m.middleware},
	})
	if err != nil {
		t.Fatal(err)
	}
	m.begin()
	if _, err := sns.Publish(context.Background(), snsclient.SMS{PhoneNumber: "+447700900123", Message: "012345 is your code", SMSType: "Transactional"}); err != nil {
		t.Fatal(err)
	}
	if st := m.end(); st.SMS != 1 || st.Emails != 0 || len(st.Calls) != 1 || st.Calls[0] != "SNS.Publish" {
		t.Fatalf("an SMS counted as %+v", st)
	}
}

func TestUnionTimer(t *testing.T) {
	var u unionTimer
	t0 := time.Unix(0, 0)
	u.start(t0)
	u.start(t0.Add(1 * time.Millisecond)) // overlaps the first
	u.stop(t0.Add(3 * time.Millisecond))
	u.stop(t0.Add(4 * time.Millisecond))
	u.start(t0.Add(10 * time.Millisecond))
	u.stop(t0.Add(11 * time.Millisecond))
	if u.total != 5*time.Millisecond {
		t.Fatalf("total %v, want 5ms (overlap counted once)", u.total)
	}
}

func TestTOTPCode(t *testing.T) {
	// RFC 6238 appendix B, SHA-1: 94287082 at T=59 (the last six digits are the code).
	if got := totpCode([]byte("12345678901234567890"), time.Unix(59, 0)); got != "287082" {
		t.Fatalf("totpCode = %s", got)
	}
	if got := totpCode([]byte("12345678901234567890"), time.Unix(1111111109, 0)); got != "081804" {
		t.Fatalf("totpCode = %s", got)
	}
}

func TestRouteCost(t *testing.T) {
	h := HandlerResult{Name: "verify (totp)", ProcessCPU: 1, Calls: []string{"DynamoDB.BatchGetItem", "DynamoDB.TransactWriteItems"}, Units: units{RRU: 4, WRU: 10}, LogBytes: 724}
	c := routeCost(h, listPrices, defaultAssumptions)
	// ceil(1 ms x 1769/128 + 5 + 12) = ceil(30.82) = 31 ms.
	if c.EstimatedMs != 31 {
		t.Fatalf("estimated %v ms", c.EstimatedMs)
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("Lambda duration", c.LambdaDuration, 1e6*0.031*0.125*0.0000133334)
	near("DynamoDB", c.DynamoDB, 4*0.125+10*0.625)
	near("HTTP API", c.HTTPAPI, 1)
	near("Lambda requests", c.LambdaRequests, 0.2)
	near("logs", c.Logs, 1024*1e6/(1<<30)*0.5)
	near("SES", c.SES, 0)
	near("total", c.Total, c.LambdaRequests+c.LambdaDuration+c.HTTPAPI+c.DynamoDB+c.Logs)

	// The channel's own fee is apart from the total; published events cost their entries and
	// the publisher's invocations.
	email := routeCost(HandlerResult{Name: "delivery", EmailsPerOp: 1, PublishedEventsPerOp: 2}, listPrices, defaultAssumptions)
	near("SES per 1M emails", email.SES, 100)
	near("EventBridge", email.EventBridge, 2)
	near("publisher", email.EventPublisher, 2*(0.2+1e6*0.030*0.125*0.0000133334+300*1e6/(1<<30)*0.5))
	near("total without the channel", email.Total, email.LambdaRequests+email.LambdaDuration+email.HTTPAPI+email.Logs+email.EventBridge+email.EventPublisher)
	near("total with the channel", email.TotalWithChannel, email.Total+100)
	// Storing an event's 400 bytes for 400 days, with its backup, is apart from the total.
	stored := routeCost(HandlerResult{Name: "verify", AuditBytesPerOp: 400}, listPrices, defaultAssumptions)
	near("audit storage", stored.AuditStorage, 400*1e6/(1<<30)*(400/(365.0/12))*(0.25+0.20))
	near("total without storage", stored.Total, stored.LambdaRequests+stored.LambdaDuration+stored.HTTPAPI+stored.Logs)

	// The audit writer: an invocation per event without a batching window; with one, a
	// million of the route a month (0.38 events a second) fills a 10-second window with 3.8.
	// Each invocation is its request, its duration and the log lines it wrote.
	a := defaultAssumptions
	a.PlatformLogBytes, a.WriterLogBytes = 0, 100
	invocation := 0.2 + 1e6*0.020*0.125*0.0000133334 + 100*1e6/(1<<30)*0.5
	carried := routeCost(HandlerResult{Name: "verify", CarriedEventsPerOp: 1}, listPrices, a)
	near("writer records, 1 s window", carried.WriterRecords, 1)
	near("audit writer, 1 s window", carried.AuditWriter, invocation)
	a.WriterWindowS = 10
	carried = routeCost(HandlerResult{Name: "verify", CarriedEventsPerOp: 1}, listPrices, a)
	near("writer records, 10 s window", carried.WriterRecords, 1e6/(365.0/12*24*3600)*10)
	near("audit writer, 10 s window", carried.AuditWriter, invocation/carried.WriterRecords)
	near("total with the writer", carried.Total, carried.LambdaRequests+carried.LambdaDuration+carried.HTTPAPI+carried.Logs+carried.AuditWriter)
	// A flow's requests share the stream: its two events fill the window twice as fast.
	flow := sumCosts("two", listPrices, a, carried, carried)
	near("flow's writer records", flow.WriterRecords, 2*carried.WriterRecords)
	near("flow's audit writer", flow.AuditWriter, carried.AuditWriter)
	near("flow's total", flow.Total, 2*carried.Total-carried.AuditWriter)

	r := buildCost([]HandlerResult{h, {Name: "challenge (create)", ProcessCPU: 1, Calls: []string{"DynamoDB.Query"}, Units: units{RRU: 1, WRU: 6}}}, defaultAssumptions)
	if len(r.Flows) != 1 || r.Flows[0].Name != "TOTP sign-in (challenge + verify)" || r.Flows[0].LambdaInvocation != 2 {
		t.Fatalf("flows %+v", r.Flows)
	}
	near("TOTP sign-in", r.TOTPSignInPerMillion, r.Routes[0].Total+r.Routes[1].Total)
	near("Twilio", r.TwilioPerMillion, 50000)
	near("ratio", r.TwilioRatio, 50000/r.TOTPSignInPerMillion)
	if defaultAssumptions.latency("DynamoDB.Query") != 5 || defaultAssumptions.latency("STS.AssumeRole") != 10 || defaultAssumptions.latency("KMS.Decrypt") != 8 {
		t.Error("latency lookup")
	}
}

func sampleReport() *Report {
	return &Report{
		GeneratedAt: "2026-01-01T00:00:00Z",
		Settings:    Settings{Benchtime: "1s", ColdStartRuns: 5},
		Handlers: []HandlerResult{
			{Name: "verify (totp)", Budget: 2, DynamoMax: 2, DynamoMean: 2, SameCalls: true, CPUExclAWS: 0.3, Calls: []string{"DynamoDB.BatchGetItem", "DynamoDB.TransactWriteItems"}},
			{Name: "challenge (create)", Budget: 2, DynamoMax: 2, DynamoMean: 2, SameCalls: true},
		},
		ColdStarts: []ColdStartResult{{Function: "verify", MedianMs: 20}, {Function: "ui", Error: "no sample event for ui", NotMeasured: true}},
		Sizes:      []SizeResult{{Function: "verify", MB: 13, BudgetMB: 15}, {Function: "jwks", MB: 7.6, BudgetMB: 8}},
	}
}

func statusOf(r *Report, name string) Budget {
	for _, b := range r.Budgets {
		if b.Name == name {
			return b
		}
	}
	return Budget{}
}

func TestEvaluate(t *testing.T) {
	r := sampleReport()
	r.evaluate(false)
	if r.Failed {
		t.Fatalf("failed: %v", r.Failures)
	}
	if b := statusOf(r, "binary size: jwks"); b.Status != "OK" || b.Limit != "<= 8 MB" {
		t.Fatalf("jwks size: %+v", b)
	}
	if b := statusOf(r, "cold start: ui"); b.Status != "NOT MEASURED" || b.Fails {
		t.Fatalf("no event: %+v", b)
	}
	if b := statusOf(r, "DynamoDB round trips: verify (totp)"); b.Status != "OK" || b.Measured != "2" {
		t.Fatalf("round trips: %+v", b)
	}

	// A round trip over budget fails, loudly, strict or not.
	r = sampleReport()
	r.Handlers[0].DynamoMax, r.Handlers[0].DynamoMean = 3, 2.5
	r.evaluate(false)
	if b := statusOf(r, "DynamoDB round trips: verify (totp)"); b.Status != "OVER" || !b.Fails || !strings.Contains(b.Measured, "mean 2.50") {
		t.Fatalf("over: %+v", b)
	}
	if !r.Failed || len(r.Failures) != 1 || !strings.Contains(r.Failures[0], "verify (totp)") {
		t.Fatalf("failures %v", r.Failures)
	}

	// So does a KMS call on a warm request, and a function that cannot start.
	r = sampleReport()
	r.WarmKMSCalls = 1
	r.ColdStarts[0].Error = "exited before answering its first event"
	r.evaluate(false)
	if len(r.Failures) != 2 || statusOf(r, "cold start: verify").Status != "ERROR" {
		t.Fatalf("failures %v", r.Failures)
	}

	// A binary over its size budget fails: sizes do not depend on the machine.
	r = sampleReport()
	r.Sizes[1].MB = 8.01
	r.evaluate(false)
	if b := statusOf(r, "binary size: jwks"); b.Status != "OVER" || !b.Fails || len(r.Failures) != 1 {
		t.Fatalf("jwks over: %+v %v", b, r.Failures)
	}

	// Timing budgets fail only with -strict.
	r = sampleReport()
	r.Handlers[0].CPUExclAWS = 0.7
	r.ColdStarts[0].MedianMs = 60
	r.evaluate(false)
	if r.Failed {
		t.Fatalf("timing budgets failed the run: %v", r.Failures)
	}
	for _, name := range []string{"handler CPU excl. AWS: verify (totp)", "cold start: verify"} {
		if b := statusOf(r, name); b.Status != "OVER" || b.Fails {
			t.Errorf("%s: %+v", name, b)
		}
	}
	r.evaluate(true)
	if len(r.Failures) != 2 {
		t.Fatalf("strict failures %v", r.Failures)
	}
}

func TestRenderAndWrite(t *testing.T) {
	r := sampleReport()
	r.Cost = buildCost(r.Handlers, defaultAssumptions)
	r.Handlers[0].DynamoMax = 3
	r.evaluate(false)
	var out bytes.Buffer
	r.render(&out)
	for _, want := range []string{"== Handlers", "== Cold starts", "== Binary sizes", "== Estimated cost per 1M", "Twilio Verify", "== Budgets", "OVER  <-- FAILS", "NOT MEASURED", "DynamoDB.BatchGetItem → DynamoDB.TransactWriteItems"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	path := filepath.Join(t.TempDir(), "bench", "report.json")
	if err := r.write(path); err != nil {
		t.Fatal(err)
	}
	var back Report
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Failed || len(back.Budgets) != len(r.Budgets) || back.Cost.PricesAsOf != PricesAsOf || back.Handlers[0].Name != "verify (totp)" {
		t.Fatalf("round trip through JSON lost data: %+v", back)
	}
}

func TestOutcome(t *testing.T) {
	for _, c := range []struct {
		r    runtimeapi.Result
		want string
	}{
		{runtimeapi.Result{Payload: []byte(`{"statusCode":404,"body":"{\"code\":\"challenge_not_found\"}"}`)}, "HTTP 404 challenge_not_found"},
		{runtimeapi.Result{Payload: []byte(`{"statusCode":200,"body":"{\"keys\":[]}"}`)}, "HTTP 200"},
		{runtimeapi.Result{Payload: []byte(`{"version":"1","response":{}}`)}, "ok"},
		{runtimeapi.Result{Failed: true, Payload: []byte(`{"errorMessage":"boom","errorType":"x"}`)}, "error: boom"},
	} {
		if got := outcome(c.r); got != c.want {
			t.Errorf("outcome(%s) = %q, want %q", c.r.Payload, got, c.want)
		}
	}
	if median([]float64{3, 1, 2}) != 2 || median([]float64{4, 1, 2, 3}) != 2.5 || median(nil) != 0 || minOf([]float64{2, 1}) != 1 || maxOf([]float64{2, 3}) != 3 {
		t.Error("median/min/max")
	}
}

func TestFirstEvent(t *testing.T) {
	tpl, err := samtemplate.Load(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	name, body, err := firstEvent(repoRoot, function{"JwksFunction", "jwks"}, routes)
	if err != nil || name != "jwks-get.json" || !json.Valid(body) {
		t.Fatalf("jwks: %q %v", name, err)
	}
	// Every function of the Makefile has an event to start with.
	fns, err := functionsFromMakefile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fns {
		if _, body, err := firstEvent(repoRoot, f, routes); err != nil || !json.Valid(body) {
			t.Errorf("%s: %v", f.Dir, err)
		}
	}
	// A function without a sample event gets a request for its first GET route.
	made := []samtemplate.Route{{FunctionID: "PageFunction", Method: "GET", Path: "/pages/{page}", NoAuth: true}}
	name, body, err = firstEvent(repoRoot, function{"PageFunction", "no-such-function"}, made)
	if err != nil || name != "made up: GET /pages/{page}" {
		t.Fatalf("made up: %q %v", name, err)
	}
	var ev struct {
		RouteKey       string            `json:"routeKey"`
		RawPath        string            `json:"rawPath"`
		PathParameters map[string]string `json:"pathParameters"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.RouteKey != "GET /pages/{page}" || ev.RawPath != "/pages/bench" || ev.PathParameters["page"] != "bench" {
		t.Fatalf("made-up event %s", body)
	}
	if _, _, err := firstEvent(repoRoot, function{"X", "no-such-function"}, nil); !errors.Is(err, errNoEvent) {
		t.Fatalf("no event: %v", err)
	}
}

func TestFunctionEnv(t *testing.T) {
	env := functionEnv(function{"VerifyFunction", "verify"}, "http://127.0.0.1:9", localaws.Resources{TableName: "t", KeyArn: "arn:k", SenderEmail: "s@example.com"}, "/tmp/h")
	joined := "\n" + strings.Join(env, "\n") + "\n"
	for _, want := range []string{"TABLE_NAME=t", "KMS_KEY_ID=arn:k", "AWS_ENDPOINT_URL=http://127.0.0.1:9", "AWS_REGION=us-east-1", "EMAIL_SENDER=s@example.com", "WEBAUTHN_RP_ID=", "WEBAUTHN_ORIGINS=", "HOME=/tmp/h", "AWS_ACCESS_KEY_ID=test"} {
		if !strings.Contains(joined, "\n"+want) {
			t.Errorf("env lacks %s", want)
		}
	}
	if strings.Contains(joined, "AWS_PROFILE") {
		t.Error("a developer's AWS_PROFILE leaks into the function")
	}
}

func TestAWSProxyTimesCalls(t *testing.T) {
	backend := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		io.WriteString(w, "ok")
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go backend.Serve(ln)
	defer backend.Close()
	p, err := startAWSProxy("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for range 2 {
		resp, err := http.Get(p.URL() + "/x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok" {
			t.Fatalf("proxied %q", b)
		}
	}
	d, n := p.take()
	if n != 2 || d < 10*time.Millisecond {
		t.Fatalf("%d calls, %v", n, d)
	}
	p.reset()
	if d, n := p.take(); d != 0 || n != 0 {
		t.Fatal("reset")
	}
}

func TestOperationName(t *testing.T) {
	for target, want := range map[string]string{
		"DynamoDB_20120810.Query": "DynamoDB.Query",
		"TrentService.Decrypt":    "KMS.Decrypt",
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("X-Amz-Target", target)
		if got := operationName(r); got != want {
			t.Errorf("%s: %q, want %q", target, got, want)
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/v2/email/outbound-emails", nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=x")
	if got := operationName(r); got != "ses POST /v2/email/outbound-emails" {
		t.Errorf("SES v2: %q", got)
	}
}
