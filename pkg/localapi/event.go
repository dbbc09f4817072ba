package localapi

import (
	"encoding/base64"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

const (
	accountID    = "000000000000"
	apiID        = "local"
	stage        = "$default"
	apigwTimeFmt = "02/Jan/2006:15:04:05 -0700"
)

// eventInput is what the gateway has decided about a request before building its event.
type eventInput struct {
	route  *route
	params map[string]string
	body   []byte
	authz  *events.APIGatewayV2HTTPRequestContextAuthorizerDescription
	reqID  string
}

// buildEvent builds the payload format 2.0 event API Gateway would send for r.
func (g *Gateway) buildEvent(r *http.Request, in eventInput) events.APIGatewayV2HTTPRequest {
	now := g.now().UTC()
	sourceIP := peerIP(r)
	body, b64 := encodeBody(r.Header.Get("Content-Type"), in.body)
	routeKey := in.route.RouteKey()
	return events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              routeKey,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies(r.Header),
		Headers:               eventHeaders(r, sourceIP),
		QueryStringParameters: queryParams(r.URL.RawQuery),
		PathParameters:        in.params,
		Body:                  body,
		IsBase64Encoded:       b64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     routeKey,
			AccountID:    accountID,
			Stage:        stage,
			RequestID:    in.reqID,
			Authorizer:   in.authz,
			APIID:        apiID,
			DomainName:   r.Host,
			DomainPrefix: domainPrefix(r.Host),
			Time:         now.Format(apigwTimeFmt),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.EscapedPath(),
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
}

// peerIP is the TCP peer's address. X-Forwarded-For is client-controlled, so it never
// decides sourceIp, as behind API Gateway.
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// eventHeaders lower-cases names and joins repeated values with ",". Cookies travel in
// their own field; host and the x-forwarded-* headers are added as API Gateway does,
// with the peer appended to any client-sent X-Forwarded-For.
func eventHeaders(r *http.Request, sourceIP string) map[string]string {
	h := make(map[string]string, len(r.Header)+4)
	for name, vals := range r.Header {
		if k := strings.ToLower(name); k != "cookie" {
			h[k] = strings.Join(vals, ",")
		}
	}
	h["host"] = r.Host
	if xff := h["x-forwarded-for"]; xff != "" {
		h["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		h["x-forwarded-for"] = sourceIP
	}
	h["x-forwarded-proto"] = "http"
	if r.TLS != nil {
		h["x-forwarded-proto"] = "https"
	}
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(addr.String()); err == nil {
			h["x-forwarded-port"] = port
		}
	}
	return h
}

// cookies splits every Cookie header into its name=value pairs.
func cookies(h http.Header) []string {
	var out []string
	for _, line := range h.Values("Cookie") {
		for c := range strings.SplitSeq(line, ";") {
			if c = strings.TrimSpace(c); c != "" {
				out = append(out, c)
			}
		}
	}
	return out
}

// queryParams decodes the query string, joining repeated keys with ",". Pairs that do
// not decode are dropped rather than failing the request.
func queryParams(raw string) map[string]string {
	vals, _ := url.ParseQuery(raw)
	if len(vals) == 0 {
		return nil
	}
	out := make(map[string]string, len(vals))
	for k, vs := range vals {
		out[k] = strings.Join(vs, ",")
	}
	return out
}

// domainPrefix is the first label of the host name ("localhost" for localhost:3000).
func domainPrefix(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(strings.Trim(host, "[]")) != nil {
		return host
	}
	prefix, _, _ := strings.Cut(host, ".")
	return prefix
}

// encodeBody passes text bodies as they are and base64-encodes everything else.
func encodeBody(contentType string, body []byte) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	if isText(contentType) {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

func isText(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json",
		mt == "application/x-www-form-urlencoded",
		strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"):
		return true
	}
	return false
}
