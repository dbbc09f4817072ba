package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestBannerPageLinksWork: every page link that `make run` prints opens its page, and the
// token in its fragment is a working token for that page's API calls.
func TestBannerPageLinksWork(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	links, err := pageLinks(s)
	if err != nil {
		t.Fatal(err)
	}
	banner := gettingStarted(s.URL, links)
	hc := &http.Client{Timeout: 10 * time.Second}
	pages := 0
	for _, field := range strings.Fields(banner) {
		if !strings.HasPrefix(field, s.URL+"/ui/") {
			continue
		}
		pages++
		u, err := url.Parse(field)
		if err != nil {
			t.Fatalf("%q: %v", field, err)
		}
		resp, err := hc.Get(field) // the fragment stays in the browser, as it would
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "<html") {
			t.Errorf("%s: %d %.80q", u.Path, resp.StatusCode, body)
		}
		token, ok := strings.CutPrefix(u.Fragment, "token=")
		if !ok || token == "" {
			t.Fatalf("%s: no token in the fragment", u.Path)
		}
		c := &client{t: t, base: s.URL, token: token, hc: hc}
		probe := "/v1/users/me/factors"
		if u.Path == "/ui/admin" {
			probe = "/v1/admin/users" // the console's token is an admin's
		}
		if status, out, _ := c.call("GET", probe, nil); status != 200 {
			t.Errorf("%s: its token is refused: %d %v", u.Path, status, out)
		}
	}
	if pages < 3 {
		t.Errorf("banner links %d pages, want the enroll, challenge and security pages:\n%s", pages, banner)
	}
}
