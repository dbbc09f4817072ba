package main

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/mfa-service/mfa/pkg/dynamostore"
	"github.com/mfa-service/mfa/pkg/sesclient"
)

// meter is SDK middleware on every client of the app under test. It counts calls, times
// them, asks DynamoDB for consumed capacity, estimates request units, and reads the code
// out of every email the service sends (so the email benchmarks need no outbox).
//
// While a request is recorded it keeps:
//   - SDK: the wall time inside SDK calls, from the Initialize step to its return
//     (serialisation, signing, retries, the round trip, deserialisation), as the union of
//     intervals (overlapping calls count once). Handler CPU "excluding AWS" is the
//     handler's wall time minus this.
//   - CPU and CPUOutsideSDK: the process's CPU time (getrusage) over the whole request, and
//     over the parts of it outside SDK calls. Waiting on the network costs no CPU, so CPU
//     is what the request costs a Lambda, SDK work and GC included; CPUOutsideSDK
//     cross-checks the wall-time difference without counting time the OS gave to moto.
type meter struct {
	mu        sync.Mutex
	recording bool
	cur       opStats
	sdk       unionTimer
	// callsInFlight counts the SDK calls under way (their middleware), apart from the spans,
	// which the store's client wrapper also opens (storeClient).
	callsInFlight int
	cpuStart      time.Duration // process CPU when recording began
	cpuMark       time.Duration // process CPU when the last SDK span ended (or recording began)
	cpuOut        time.Duration // process CPU outside SDK spans so far

	total      map[string]int     // every call since the meter was made, by Service.Operation
	withCU     map[string]int     // DynamoDB calls whose output carried ConsumedCapacity, by operation
	sumCU      map[string]float64 // the capacity units those outputs reported
	lastEmail  map[string]string
	emailCount int
}

// overlapMark starts the name of a call made while another was in flight (opStats.Calls).
const overlapMark = "∥ "

// opStats is what one recorded request did.
type opStats struct {
	Calls         []string // Service.Operation, in the order they started; overlapMark first when made while another was in flight
	Dynamo        int      // DynamoDB round trips: calls made while none was in flight
	KMS           int
	Emails        int
	SMS           int
	TxItems       int                                      // actions in transactions
	Audits        []map[string]dynamoclient.AttributeValue // audit items written or carried
	Carried       []map[string]dynamoclient.AttributeValue // audit items carried by state writes (outbox)
	StateUpdates  int                                      // plain UpdateItems of the user's state
	TxStateUpdate int                                      // updates of the user's state in transactions
	Units         units
	MotoCU        float64 // sum of ConsumedCapacity.CapacityUnits that moto returned
	MotoCUSeen    int     // DynamoDB calls whose output carried ConsumedCapacity
	SDK           time.Duration
	CPU           time.Duration
	CPUOutsideSDK time.Duration
}

type unionTimer struct {
	inflight int
	since    time.Time
	total    time.Duration
}

func (u *unionTimer) start(now time.Time) {
	if u.inflight == 0 {
		u.since = now
	}
	u.inflight++
}

func (u *unionTimer) stop(now time.Time) {
	u.inflight--
	if u.inflight == 0 {
		u.total += now.Sub(u.since)
	}
}

func newMeter() *meter {
	return &meter{total: map[string]int{}, withCU: map[string]int{}, sumCU: map[string]float64{}, lastEmail: map[string]string{}}
}

// begin starts recording one request.
func (m *meter) begin() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recording = true
	m.cur = opStats{}
	m.sdk.total = 0
	m.cpuStart = processCPU()
	m.cpuMark, m.cpuOut = m.cpuStart, 0
}

// end stops recording and returns what the request did.
func (m *meter) end() opStats {
	now := processCPU()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recording = false
	s := m.cur
	s.SDK = m.sdk.total
	s.CPU = now - m.cpuStart
	s.CPUOutsideSDK = m.cpuOut + now - m.cpuMark
	return s
}

// spanStart and spanEnd bracket an SDK call (m.mu held). The wall-clock span opens before
// and closes after their getrusage calls, so that the meter's own syscalls count as SDK time,
// not as the handler's.
func (m *meter) spanStart() {
	outermost := m.sdk.inflight == 0
	m.sdk.start(time.Now())
	if outermost && m.recording {
		m.cpuOut += processCPU() - m.cpuMark
	}
}

func (m *meter) spanEnd() {
	if m.sdk.inflight == 1 && m.recording {
		m.cpuMark = processCPU()
	}
	m.sdk.stop(time.Now())
}

// count returns how many calls of the service (e.g. "KMS") were made since the meter was
// made, recorded or not.
func (m *meter) count(service string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, v := range m.total {
		if strings.HasPrefix(k, service+".") {
			n += v
		}
	}
	return n
}

// snapshot returns the calls by Service.Operation made since the meter was made.
func (m *meter) snapshot() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.total))
	for k, v := range m.total {
		out[k] = v
	}
	return out
}

// capacityCoverage is, for every DynamoDB operation called, how many calls there were, how
// many outputs carried ConsumedCapacity, and the units they reported.
type capacityCoverage struct {
	Calls, WithCU int
	SumCU         float64
}

func (m *meter) capacityCoverage() map[string]capacityCoverage {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]capacityCoverage{}
	for op, n := range m.total {
		if strings.HasPrefix(op, "DynamoDB.") {
			out[op] = capacityCoverage{Calls: n, WithCU: m.withCU[op], SumCU: m.sumCU[op]}
		}
	}
	return out
}

// emailCodePattern finds the code in a code email of any locale: the one whole 6-digit number.
var emailCodePattern = regexp.MustCompile(`(?:^|\D)(\d{6})(?:\D|$)`)

// emailCode returns the code in the last email sent to addr, and how many emails have been
// sent in all.
func (m *meter) emailCode(addr string) (string, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sm := emailCodePattern.FindStringSubmatch(m.lastEmail[addr])
	if sm == nil {
		return "", m.emailCount
	}
	return sm[1], m.emailCount
}

// middleware adds the meter to a client's stack (app.WithAPIOptions).
func (m *meter) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("benchMeter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			// The meter's own work happens inside the timed span, so that it is subtracted
			// with the SDK's time rather than counted as the handler's.
			service := awsmiddleware.GetServiceID(ctx)
			op := service + "." + awsmiddleware.GetOperationName(ctx)
			m.mu.Lock()
			// A call made while another is in flight is no round trip of its own: the request
			// waits for the longer of the two. Calls are listed in the order they start.
			overlaps := m.callsInFlight > 0
			m.callsInFlight++
			m.spanStart()
			if m.recording {
				if overlaps {
					m.cur.Calls = append(m.cur.Calls, overlapMark+op)
				} else {
					m.cur.Calls = append(m.cur.Calls, op)
				}
			}
			m.mu.Unlock()
			if service == "DynamoDB" {
				setReturnConsumedCapacity(in.Parameters)
			}
			// sesclient gives middleware the email as the call's parameters.
			if e, ok := in.Parameters.(sesclient.Email); ok {
				m.captureEmail(e)
			}

			out, md, err := next.HandleInitialize(ctx, in)

			var (
				u        units
				cu       float64
				cuOK     bool
				txItems  int
				isDynamo = service == "DynamoDB"
			)
			if isDynamo {
				u = estimateUnits(in.Parameters, out.Result)
				cu, cuOK = consumedCapacity(out.Result)
				txItems = transactItems(in.Parameters)
			}
			m.mu.Lock()
			defer func() {
				m.callsInFlight--
				m.spanEnd()
				m.mu.Unlock()
			}()
			m.total[op]++
			if cuOK {
				m.withCU[op]++
				m.sumCU[op] += cu
			}
			if !m.recording {
				return out, md, err
			}
			c := &m.cur
			switch {
			case isDynamo:
				if !overlaps {
					c.Dynamo++
				}
				c.TxItems += txItems
				if err == nil {
					carried := carriedEvents(in.Parameters)
					c.Audits = append(append(c.Audits, auditItems(in.Parameters)...), carried...)
					c.Carried = append(c.Carried, carried...)
				}
				// A refused conditional write is charged like a successful one.
				plain, tx := stateUpdates(in.Parameters)
				c.StateUpdates += plain
				c.TxStateUpdate += tx
				c.Units = c.Units.add(u)
				if cuOK {
					c.MotoCU += cu
					c.MotoCUSeen++
				}
			case service == "KMS":
				c.KMS++
			case op == "SESv2.SendEmail":
				c.Emails++
			case op == "SNS.Publish":
				c.SMS++
			}
			return out, md, err
		}), middleware.Before)
}

func (m *meter) captureEmail(e sesclient.Email) {
	if e.Text == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.emailCount++
	for _, to := range e.To {
		m.lastEmail[to] = e.Text
	}
}

// storeClient is the client the store calls, timed from the store's side (app.WithStoreClient):
// the SDK builds a call's options and middleware stack before its first middleware runs, and
// that is SDK work of the call as much as its serialisation and signing, so the call's span
// opens and closes here. (KMS, SES and SNS calls are timed by the middleware alone; a warm
// verify makes none.)
type storeClient struct {
	db dynamostore.DynamoDB
	m  *meter
}

func timed[Out any](m *meter, call func() (Out, error)) (Out, error) {
	m.mu.Lock()
	m.spanStart()
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.spanEnd()
		m.mu.Unlock()
	}()
	return call()
}

func (c storeClient) GetItem(ctx context.Context, in *dynamoclient.GetItemInput) (*dynamoclient.GetItemOutput, error) {
	return timed(c.m, func() (*dynamoclient.GetItemOutput, error) { return c.db.GetItem(ctx, in) })
}

func (c storeClient) PutItem(ctx context.Context, in *dynamoclient.PutItemInput) (*dynamoclient.PutItemOutput, error) {
	return timed(c.m, func() (*dynamoclient.PutItemOutput, error) { return c.db.PutItem(ctx, in) })
}

func (c storeClient) UpdateItem(ctx context.Context, in *dynamoclient.UpdateItemInput) (*dynamoclient.UpdateItemOutput, error) {
	return timed(c.m, func() (*dynamoclient.UpdateItemOutput, error) { return c.db.UpdateItem(ctx, in) })
}

func (c storeClient) Query(ctx context.Context, in *dynamoclient.QueryInput) (*dynamoclient.QueryOutput, error) {
	return timed(c.m, func() (*dynamoclient.QueryOutput, error) { return c.db.Query(ctx, in) })
}

func (c storeClient) BatchGetItem(ctx context.Context, in *dynamoclient.BatchGetItemInput) (*dynamoclient.BatchGetItemOutput, error) {
	return timed(c.m, func() (*dynamoclient.BatchGetItemOutput, error) { return c.db.BatchGetItem(ctx, in) })
}

func (c storeClient) TransactWriteItems(ctx context.Context, in *dynamoclient.TransactWriteItemsInput) (*dynamoclient.TransactWriteItemsOutput, error) {
	return timed(c.m, func() (*dynamoclient.TransactWriteItemsOutput, error) { return c.db.TransactWriteItems(ctx, in) })
}
