package main

import (
	"math"
	"strings"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// PricesAsOf dates the price table: us-east-1 list prices (on-demand, no free tier, first
// volume tier), DynamoDB after the 2024-11-01 on-demand price cut. Check the pricing pages
// before quoting them.
const PricesAsOf = "2025-06-01"

// Prices are USD.
type Prices struct {
	LambdaRequestsPerMillion float64 `json:"lambdaRequestsPerMillion"`           // aws.amazon.com/lambda/pricing
	LambdaArmGBSecond        float64 `json:"lambdaArm64PerGbSecond"`             // arm64, first 7.5 B GB-s a month
	HTTPAPIPerMillion        float64 `json:"httpApiRequestsPerMillion"`          // aws.amazon.com/api-gateway/pricing, first 300 M, per 512 KB
	DynamoRRUPerMillion      float64 `json:"dynamoDbReadRequestUnitsPerMillion"` // aws.amazon.com/dynamodb/pricing/on-demand
	DynamoWRUPerMillion      float64 `json:"dynamoDbWriteRequestUnitsPerMillion"`
	SESPerThousandEmails     float64 `json:"sesPerThousandEmails"`                  // aws.amazon.com/ses/pricing, outbound
	LogsIngestPerGB          float64 `json:"cloudWatchLogsIngestPerGb"`             // aws.amazon.com/cloudwatch/pricing, standard class
	KMSPer10kRequests        float64 `json:"kmsPer10kRequests"`                     // aws.amazon.com/kms/pricing (cold starts only)
	TwilioVerifyPerSuccess   float64 `json:"twilioVerifyPerSuccessfulVerification"` // twilio.com/en-us/verify/pricing
	EventBridgePerMillion    float64 `json:"eventBridgePutEventsPerMillion"`        // aws.amazon.com/eventbridge/pricing, custom events (64 KB chunks)
	DynamoStoragePerGBMonth  float64 `json:"dynamoDbStoragePerGbMonth"`             // Standard table class
	DynamoPITRPerGBMonth     float64 `json:"dynamoDbPitrPerGbMonth"`                // continuous backups (template.yaml enables them)
}

var listPrices = Prices{
	LambdaRequestsPerMillion: 0.20,
	LambdaArmGBSecond:        0.0000133334,
	HTTPAPIPerMillion:        1.00,
	DynamoRRUPerMillion:      0.125,
	DynamoWRUPerMillion:      0.625,
	SESPerThousandEmails:     0.10,
	LogsIngestPerGB:          0.50,
	KMSPer10kRequests:        0.03,
	TwilioVerifyPerSuccess:   0.05,
	EventBridgePerMillion:    1.00,
	DynamoStoragePerGBMonth:  0.25,
	DynamoPITRPerGBMonth:     0.20,
}

// Assumptions turn what was measured here into a Lambda duration. They are estimates, not
// measurements: moto's latencies say nothing about AWS's.
type Assumptions struct {
	MemoryMB int `json:"memoryMb"` // template.yaml Globals.Function.MemorySize
	// CPUScale stretches CPU time measured on this machine to Lambda at MemoryMB: Lambda
	// gives a full vCPU at 1,769 MB and CPU in proportion below that.
	CPUScale float64 `json:"cpuScale"`
	// LatencyMs is the assumed in-region p50 of one call, by Service.Operation; "DynamoDB"
	// is the default of DynamoDB calls, "*" of anything else.
	LatencyMs map[string]float64 `json:"latencyMs"`
	// SystemLogLevel is template.yaml's Globals.Function.LoggingConfig.SystemLogLevel, and
	// PlatformLogBytes what Lambda itself logs per invocation at that level: its START, END
	// and REPORT lines (about 300 bytes) at INFO, nothing at WARN (only errors and timeouts).
	SystemLogLevel   string  `json:"systemLogLevel"`
	PlatformLogBytes float64 `json:"platformLogBytes"`
	// The stream functions. Lambda gathers a stream's records for up to its mapping's
	// MaximumBatchingWindowInSeconds (template.yaml) before it invokes, so an invocation
	// carries max(1, events per op x OpsPerMonth / seconds in a month x window) records: the
	// traffic the budgets are per, a million operations of the route a month. This is a lower
	// bound of the batch (the window opens on its first record, and the stream carries every
	// route's events, not this route's alone). Each invocation is billed its request, an
	// assumed duration (one PutEvents, or one BatchWriteItem, and the decoding; not measured)
	// and its own log lines, measured by running the function once at LOG_LEVEL.
	OpsPerMonth       float64 `json:"opsPerMonth"`
	PublisherWindowS  float64 `json:"publisherBatchingWindowSeconds"`
	PublisherMs       float64 `json:"publisherDurationMs"`
	PublisherLogBytes float64 `json:"publisherLogBytesPerInvocation"`
	WriterWindowS     float64 `json:"auditWriterBatchingWindowSeconds"`
	WriterMs          float64 `json:"auditWriterDurationMs"`
	WriterLogBytes    float64 `json:"auditWriterLogBytesPerInvocation"`
	// AuditRetentionDays is template.yaml's default: how long each audit event is stored
	// (and backed up) after the request that wrote it.
	AuditRetentionDays float64 `json:"auditRetentionDays"`
}

var defaultAssumptions = Assumptions{
	MemoryMB: 128,
	CPUScale: 1769.0 / 128,
	LatencyMs: map[string]float64{
		"DynamoDB":                    5,
		"DynamoDB.TransactWriteItems": 12,
		"DynamoDB.TransactGetItems":   10,
		"SESv2.SendEmail":             40,
		"SNS.Publish":                 40,
		"KMS":                         8,
		"*":                           10,
	},
	SystemLogLevel:     "INFO",
	PlatformLogBytes:   platformLogBytes("INFO"),
	OpsPerMonth:        1e6,
	PublisherWindowS:   1,
	PublisherMs:        30,
	WriterWindowS:      1,
	WriterMs:           20,
	AuditRetentionDays: 400,
}

// platformLogBytes is what Lambda logs per invocation at a system log level.
func platformLogBytes(level string) float64 {
	switch strings.ToUpper(level) {
	case "WARN":
		return 0
	case "DEBUG":
		return 600 // INFO's lines and the platform's debug records; an estimate
	default: // INFO, and Lambda's default when LoggingConfig names none
		return 300
	}
}

// secondsPerMonth is an average month's.
const secondsPerMonth = 365.0 / 12 * 24 * 3600

// assumptionsFor is the default assumptions with the stack's own settings: Lambda's logging
// and the stream mappings' batching windows.
func assumptionsFor(tpl *samtemplate.Template) (Assumptions, error) {
	a := defaultAssumptions
	if level := tpl.Globals.Function.LoggingConfig.SystemLogLevel; level != "" {
		a.SystemLogLevel, a.PlatformLogBytes = level, platformLogBytes(level)
	}
	for id, window := range map[string]*float64{publisherMappingID: &a.PublisherWindowS, writerMappingID: &a.WriterWindowS} {
		esm, err := tpl.EventSourceMapping(id)
		if err != nil {
			return a, err
		}
		// No window (0, Lambda's default for a stream): it invokes as records arrive.
		*window = float64(esm.MaximumBatchingWindowInSeconds)
	}
	return a, nil
}

// recordsPerInvocation is how many of a route's events a stream function's invocation
// carries at OpsPerMonth, with the mapping's batching window.
func (a Assumptions) recordsPerInvocation(eventsPerOp, windowS float64) float64 {
	return max(1, eventsPerOp*a.OpsPerMonth/secondsPerMonth*windowS)
}

func (a Assumptions) latency(call string) float64 {
	if v, ok := a.LatencyMs[call]; ok {
		return v
	}
	service, _, _ := strings.Cut(call, ".")
	if v, ok := a.LatencyMs[service]; ok {
		return v
	}
	return a.LatencyMs["*"]
}

// RouteCost is the estimated cost of one million operations of a route, in USD.
type RouteCost struct {
	Name            string  `json:"name"`
	EstimatedMs     float64 `json:"estimatedDurationMs"` // billed (rounded up to 1 ms)
	RRU             float64 `json:"rruPerOp"`
	WRU             float64 `json:"wruPerOp"`
	LambdaRequests  float64 `json:"lambdaRequests"`
	LambdaDuration  float64 `json:"lambdaDuration"`
	HTTPAPI         float64 `json:"httpApi"`
	DynamoDB        float64 `json:"dynamoDb"`
	Logs            float64 `json:"logs"`
	EventBridge     float64 `json:"eventBridge"`    // published audit events
	EventPublisher  float64 `json:"eventPublisher"` // the publisher's invocations for them
	AuditWriter     float64 `json:"auditWriter"`    // the audit writer's invocations (its writes are in DynamoDB)
	PublishedEvents float64 `json:"publishedEventsPerOp"`
	CarriedEvents   float64 `json:"carriedEventsPerOp"` // riding on state writes: the audit writer's
	// Records per invocation of the publisher and of the audit writer for this route's
	// events (Assumptions.recordsPerInvocation).
	PublisherRecords float64 `json:"publisherRecordsPerInvocation,omitempty"`
	WriterRecords    float64 `json:"auditWriterRecordsPerInvocation,omitempty"`
	// Total is what the service costs; the channel's own fee (SES's per email) is apart,
	// like a verification service's "channel fees extra", and so are the budgets.
	Total            float64 `json:"total"`
	SES              float64 `json:"sesChannelFee"`
	TotalWithChannel float64 `json:"totalWithChannelFees"`
	// AuditStorage is apart too: storing (and backing up) the audit events a million
	// operations write, over their whole retention. It is paid month by month, not per
	// request, and follows AuditRetentionDays.
	AuditStorage     float64 `json:"auditStorageOverRetention"`
	LambdaInvocation int     `json:"lambdaInvocationsPerOp"`
}

// routeCost prices a million operations of a benchmarked handler:
//
//	Lambda requests = 1 M × price per million
//	Lambda duration = 1 M × ceil(cpu × CPUScale + Σ assumed call latency) ms × MemoryMB/1024 GB × price per GB-s / 1000
//	                  (cpu: the process CPU time of the request, SDK work and GC included)
//	HTTP API        = 1 M × price per million (requests under 512 KB)
//	DynamoDB        = RRU per op × price per million RRU + WRU per op × price per million WRU
//	                  (units from the requests made, see capacity.go; transactions 2 per item)
//	Logs            = (log bytes per op + PlatformLogBytes) × 1 M / 2^30 × price per GB
//	EventBridge     = published events per op × price per million entries
//	Event publisher = published events per op / records per invocation × (Lambda request
//	                  + PublisherMs of duration + its log lines and PlatformLogBytes)
//	Audit writer    = carried events per op / records per invocation × (Lambda request
//	                  + WriterMs of duration + its log lines and PlatformLogBytes); its puts
//	                  are in DynamoDB (WRU per op)
//	records per invocation = max(1, events per op × OpsPerMonth / seconds per month ×
//	                  the mapping's batching window)
//	SES (apart)     = emails per op × 1 M / 1000 × price per 1000
//	Audit storage   = audit bytes per op × 1 M / 2^30 × retention months × (storage + PITR)
//	(apart)           price per GB-month: paid month by month while the events are kept
func routeCost(h HandlerResult, p Prices, a Assumptions) RouteCost {
	// Calls made while the previous one was in flight wait together: the longest counts.
	latency, group := 0.0, 0.0
	for _, c := range h.Calls {
		if op, ok := strings.CutPrefix(c, overlapMark); ok {
			group = max(group, a.latency(op))
			continue
		}
		latency += group
		group = a.latency(c)
	}
	latency += group
	d := math.Ceil(h.ProcessCPU*a.CPUScale + latency)
	c := RouteCost{
		Name: h.Name, EstimatedMs: d, RRU: h.Units.RRU, WRU: h.Units.WRU, LambdaInvocation: 1,
		LambdaRequests:  p.LambdaRequestsPerMillion,
		LambdaDuration:  1e6 * d / 1000 * float64(a.MemoryMB) / 1024 * p.LambdaArmGBSecond,
		HTTPAPI:         p.HTTPAPIPerMillion,
		DynamoDB:        h.Units.RRU*p.DynamoRRUPerMillion + h.Units.WRU*p.DynamoWRUPerMillion,
		SES:             h.EmailsPerOp * 1e6 / 1000 * p.SESPerThousandEmails,
		Logs:            (h.LogBytes + a.PlatformLogBytes) * 1e6 / (1 << 30) * p.LogsIngestPerGB,
		PublishedEvents: h.PublishedEventsPerOp,
		EventBridge:     h.PublishedEventsPerOp * p.EventBridgePerMillion,
	}
	c.CarriedEvents = h.CarriedEventsPerOp
	c.streamFunctions(p, a)
	months := a.AuditRetentionDays / (365.0 / 12)
	c.AuditStorage = h.AuditBytesPerOp * 1e6 / (1 << 30) * months * (p.DynamoStoragePerGBMonth + p.DynamoPITRPerGBMonth)
	c.total()
	return c
}

// streamFunctions prices the publisher's and the audit writer's invocations for c's events, at
// a million of c a month: a flow's requests share the stream, so its events batch together.
func (c *RouteCost) streamFunctions(p Prices, a Assumptions) {
	invocation := func(ms, logBytes float64) float64 {
		return p.LambdaRequestsPerMillion + 1e6*ms/1000*float64(a.MemoryMB)/1024*p.LambdaArmGBSecond +
			(logBytes+a.PlatformLogBytes)*1e6/(1<<30)*p.LogsIngestPerGB
	}
	c.EventPublisher, c.PublisherRecords, c.AuditWriter, c.WriterRecords = 0, 0, 0, 0
	if c.PublishedEvents > 0 {
		c.PublisherRecords = a.recordsPerInvocation(c.PublishedEvents, a.PublisherWindowS)
		c.EventPublisher = c.PublishedEvents / c.PublisherRecords * invocation(a.PublisherMs, a.PublisherLogBytes)
	}
	if c.CarriedEvents > 0 {
		c.WriterRecords = a.recordsPerInvocation(c.CarriedEvents, a.WriterWindowS)
		c.AuditWriter = c.CarriedEvents / c.WriterRecords * invocation(a.WriterMs, a.WriterLogBytes)
	}
}

func (c *RouteCost) total() {
	c.Total = c.LambdaRequests + c.LambdaDuration + c.HTTPAPI + c.DynamoDB + c.Logs + c.EventBridge + c.EventPublisher + c.AuditWriter
	c.TotalWithChannel = c.Total + c.SES
}

// sumCosts is a flow made of several requests (e.g. challenge + verify), a million of each a
// month.
func sumCosts(name string, p Prices, a Assumptions, parts ...RouteCost) RouteCost {
	out := RouteCost{Name: name}
	for _, c := range parts {
		out.EstimatedMs += c.EstimatedMs
		out.RRU += c.RRU
		out.WRU += c.WRU
		out.LambdaRequests += c.LambdaRequests
		out.LambdaDuration += c.LambdaDuration
		out.HTTPAPI += c.HTTPAPI
		out.DynamoDB += c.DynamoDB
		out.SES += c.SES
		out.Logs += c.Logs
		out.EventBridge += c.EventBridge
		out.PublishedEvents += c.PublishedEvents
		out.CarriedEvents += c.CarriedEvents
		out.AuditStorage += c.AuditStorage
		out.LambdaInvocation += c.LambdaInvocation
	}
	out.streamFunctions(p, a)
	out.total()
	return out
}

// CostReport is the cost section of the report.
type CostReport struct {
	PricesAsOf  string      `json:"pricesAsOf"`
	Region      string      `json:"region"`
	Prices      Prices      `json:"prices"`
	Assumptions Assumptions `json:"assumptions"`
	Routes      []RouteCost `json:"routes"` // per 1 M operations
	Flows       []RouteCost `json:"flows"`  // per 1 M sign-ins
	// TwilioPerMillion is Twilio Verify's price for 1 M successful verifications, and
	// TOTPSignInPerMillion ours for 1 M TOTP sign-ins (challenge + verify).
	TwilioPerMillion     float64  `json:"twilioVerifyPerMillion"`
	TOTPSignInPerMillion float64  `json:"totpSignInPerMillion"`
	TwilioRatio          float64  `json:"twilioOverTotpSignIn"`
	Formulas             []string `json:"formulas"`
}

var costFormulas = []string{
	"Lambda requests = price per 1M requests",
	"Lambda duration = ceil(process CPU per request x CPU scale (1769 MB/128 MB) + sum of assumed call latencies) ms x 0.125 GB x price per GB-s / 1000, x 1M",
	"HTTP API = price per 1M requests (each request < 512 KB)",
	"DynamoDB = RRU/op x price per 1M RRU + WRU/op x price per 1M WRU",
	"  read: ceil(bytes/4KB) RRU (x0.5 eventually consistent); write: ceil(bytes/1KB) WRU",
	"  TransactWriteItems: 2 WRU per action per KB (ConditionCheck, Update, Delete counted as 1 KB); TransactGetItems: 2 RRU per item per 4 KB",
	"Logs = (log bytes/op + platform bytes: 300 at SystemLogLevel INFO, 0 at WARN, template.yaml) x 1M / 2^30 x price per GB ingested",
	"EventBridge = audit events/op that pass the publisher's stream filter (template.yaml) x price per 1M entries",
	"Event publisher = those events / records per invocation x (Lambda request + assumed duration + its own log lines, measured, and platform logs)",
	"Audit writer = audit events riding on state writes / records per invocation x (Lambda request + assumed duration + its own log lines, measured, and platform logs); its puts (ceil(item/1KB) WRU each) are in WRU/op",
	"  records per invocation = max(1, events/op x 1M ops a month / seconds in a month x the stream mapping's MaximumBatchingWindowInSeconds, template.yaml)",
	"  an update of the user's state is charged on the larger of the item before and after (read around each operation)",
	"Audit storage (apart, not per request) = audit bytes/op (item + 100 B overhead) x 1M / 2^30 x retention months (AuditRetentionDays / 30.4) x (storage + PITR price per GB-month)",
	"total = all of the above but audit storage; SES = emails/op x 1M / 1000 x price per 1000 emails is the channel's own fee, shown apart (budgets exclude it)",
	"Twilio Verify = $0.05 per successful verification = $50,000 per 1M (channel fees extra)",
}

func buildCost(handlers []HandlerResult, a Assumptions) CostReport {
	r := CostReport{PricesAsOf: PricesAsOf, Region: "us-east-1", Prices: listPrices, Assumptions: a, Formulas: costFormulas}
	byName := map[string]RouteCost{}
	for _, h := range handlers {
		c := routeCost(h, r.Prices, r.Assumptions)
		r.Routes = append(r.Routes, c)
		byName[h.Name] = c
	}
	flow := func(name string, parts ...string) {
		var cs []RouteCost
		for _, p := range parts {
			c, ok := byName[p]
			if !ok {
				return
			}
			cs = append(cs, c)
		}
		r.Flows = append(r.Flows, sumCosts(name, r.Prices, r.Assumptions, cs...))
	}
	flow("TOTP sign-in (challenge + verify)", "challenge (create)", "verify (totp)")
	flow("passkey sign-in (challenge + verify)", "challenge (create, passkey)", "verify (webauthn)")
	flow("email sign-in (challenge sending the code + verify)", "challenge (create, email code sent)", "verify (email)")
	flow("email sign-in, email picked (challenge + delivery + verify)", "challenge (create)", "challenge delivery (email)", "verify (email)")
	flow("backup-code sign-in (challenge + verify)", "challenge (create)", "verify (backup_codes)")
	r.TwilioPerMillion = 1e6 * r.Prices.TwilioVerifyPerSuccess
	if len(r.Flows) > 0 && r.Flows[0].Name == "TOTP sign-in (challenge + verify)" {
		r.TOTPSignInPerMillion = r.Flows[0].Total
		if r.TOTPSignInPerMillion > 0 {
			r.TwilioRatio = r.TwilioPerMillion / r.TOTPSignInPerMillion
		}
	}
	return r
}
