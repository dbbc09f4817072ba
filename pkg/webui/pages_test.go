package webui

import (
	"sync"
	"testing"

	"github.com/mfa-service/mfa/pkg/locale"
)

// A cold start renders nothing but the page it serves; concurrent first requests for the
// same pages get the same documents, and a page served again is the one rendered first.
func TestPagesRenderOnFirstUse(t *testing.T) {
	u := newUI(t, Config{ProductName: "Acme"})
	if len(u.pages.rendered) != 0 || len(u.pages.frames) != 0 {
		t.Fatalf("New rendered %d pages in %d locales; pages render on first use", len(u.pages.rendered), len(u.pages.frames))
	}
	first := get(t, u, RoutePage, "page", "challenge", map[string]string{"locale": "de"}, nil)
	if first.StatusCode != 200 || len(u.pages.rendered) != 1 || len(u.pages.frames) != 1 {
		t.Fatalf("first page: %d, then %d pages in %d locales rendered", first.StatusCode, len(u.pages.rendered), len(u.pages.frames))
	}

	bodies := make([][]string, 8)
	var wg sync.WaitGroup
	for g := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, l := range locale.Supported {
				for _, page := range Pages {
					body, err := u.pages.get(l, page)
					if err != nil {
						t.Error(err)
					}
					bodies[g] = append(bodies[g], body)
				}
			}
		}()
	}
	wg.Wait()
	for g := 1; g < len(bodies); g++ {
		for i := range bodies[g] {
			if bodies[g][i] != bodies[0][i] {
				t.Fatalf("goroutine %d got another document for page %d", g, i)
			}
		}
	}
	if again := get(t, u, RoutePage, "page", "challenge", map[string]string{"locale": "de"}, nil); again.Body != first.Body {
		t.Error("a page served again differs from its first rendering")
	}
	if want := len(locale.Supported) * len(Pages); len(u.pages.rendered) != want {
		t.Errorf("%d pages rendered, want %d", len(u.pages.rendered), want)
	}
}
