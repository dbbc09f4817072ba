package localapi

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// segment is one "/"-separated piece of a route path.
type segment struct {
	literal string // set when the segment is not a variable
	param   string // name of a {param} or {param+} segment
	greedy  bool   // {param+}: captures the rest of the path
}

// kind orders segments by specificity: API Gateway prefers a literal over a variable
// and a variable over a greedy variable.
func (s segment) kind() int {
	switch {
	case s.param == "":
		return 0
	case !s.greedy:
		return 1
	default:
		return 2
	}
}

type route struct {
	samtemplate.Route
	segs []segment
}

// compileRoutes parses every route and orders them most specific first, so the first
// match is the one API Gateway would pick.
func compileRoutes(in []samtemplate.Route, handlers map[string]Handler) ([]route, error) {
	routes := make([]route, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, r := range in {
		if handlers[r.FunctionID] == nil {
			return nil, fmt.Errorf("localapi: route %s: no handler for function %q", r.RouteKey(), r.FunctionID)
		}
		if seen[r.RouteKey()] {
			return nil, fmt.Errorf("localapi: route %s declared twice", r.RouteKey())
		}
		seen[r.RouteKey()] = true
		rt, err := compileRoute(r)
		if err != nil {
			return nil, err
		}
		routes = append(routes, rt)
	}
	sort.SliceStable(routes, func(i, j int) bool { return moreSpecific(routes[i], routes[j]) })
	return routes, nil
}

func compileRoute(r samtemplate.Route) (route, error) {
	fail := func(why string) (route, error) {
		return route{}, fmt.Errorf("localapi: route %s: %s", r.RouteKey(), why)
	}
	if !strings.HasPrefix(r.Path, "/") {
		return fail("path must start with /")
	}
	// The dev issuer's endpoints would shadow such a route.
	if strings.HasPrefix(r.Path, localPrefix) {
		return fail("paths under " + localPrefix + " are reserved for the local stack")
	}
	parts := strings.Split(r.Path[1:], "/")
	segs := make([]segment, len(parts))
	for i, p := range parts {
		seg, err := parseSegment(p)
		if err != nil {
			return fail(err.Error())
		}
		if seg.greedy && i != len(parts)-1 {
			return fail("a greedy {name+} variable must be the last segment")
		}
		segs[i] = seg
	}
	return route{Route: r, segs: segs}, nil
}

func parseSegment(p string) (segment, error) {
	if !strings.ContainsAny(p, "{}") {
		return segment{literal: p}, nil
	}
	if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") || len(p) < 3 {
		return segment{}, fmt.Errorf("segment %q: a variable must be a whole segment", p)
	}
	name := p[1 : len(p)-1]
	greedy := strings.HasSuffix(name, "+")
	name = strings.TrimSuffix(name, "+")
	if name == "" || strings.ContainsAny(name, "{}+") {
		return segment{}, fmt.Errorf("segment %q: bad variable name", p)
	}
	return segment{param: name, greedy: greedy}, nil
}

// moreSpecific compares paths segment by segment, then prefers an exact method to ANY.
func moreSpecific(a, b route) bool {
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		if ka, kb := a.segs[i].kind(), b.segs[i].kind(); ka != kb {
			return ka < kb
		}
	}
	if len(a.segs) != len(b.segs) {
		return len(a.segs) > len(b.segs)
	}
	return a.Method != "ANY" && b.Method == "ANY"
}

// match finds the route for the request and its decoded path parameters.
func (g *Gateway) match(r *http.Request) (*route, map[string]string, bool) {
	path := r.URL.EscapedPath()
	if !strings.HasPrefix(path, "/") {
		return nil, nil, false
	}
	parts := strings.Split(path[1:], "/")
	for i := range g.routes {
		rt := &g.routes[i]
		if rt.Method != r.Method && rt.Method != "ANY" {
			continue
		}
		if params, ok := rt.matchPath(parts); ok {
			return rt, params, true
		}
	}
	return nil, nil, false
}

// matchPath matches escaped path segments; captured values are URL-decoded, as in the
// pathParameters API Gateway sends.
func (rt *route) matchPath(parts []string) (map[string]string, bool) {
	var params map[string]string
	capture := func(name, raw string) bool {
		v, err := url.PathUnescape(raw)
		if err != nil || v == "" {
			return false
		}
		if params == nil {
			params = make(map[string]string)
		}
		params[name] = v
		return true
	}
	for i, seg := range rt.segs {
		if i >= len(parts) {
			return nil, false
		}
		switch {
		case seg.greedy:
			ok := capture(seg.param, strings.Join(parts[i:], "/"))
			return params, ok
		case seg.param != "":
			if !capture(seg.param, parts[i]) {
				return nil, false
			}
		default:
			if v, err := url.PathUnescape(parts[i]); err != nil || v != seg.literal {
				return nil, false
			}
		}
	}
	return params, len(parts) == len(rt.segs)
}
