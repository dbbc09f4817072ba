package webui

import (
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"sync"

	"github.com/mfa-service/mfa/pkg/brand"
	"github.com/mfa-service/mfa/pkg/locale"
)

// pageSet renders the pages, each the first time it is asked for in a locale, and keeps
// them: a container serves the same few pages again and again, and a cold start then renders
// one page and reads one catalog instead of every page in every locale (28 pages of about
// 30 KB, each carrying its locale's catalog).
type pageSet struct {
	layout        string
	brand         brand.Brand
	logo          string
	version       string
	returnOrigins []string

	mu       sync.Mutex
	catalogs map[string]*locale.Catalog // by locale, read on first use
	frames   map[string]frame           // the layout in a locale, by locale
	rendered map[string]string          // by locale + "/" + page
}

// frame is the layout translated into one locale, with that locale's page config.
type frame struct {
	html, config, support string
	cat                   *locale.Catalog
}

// get returns the page in locale l (a supported locale; page one of Pages).
func (p *pageSet) get(l, page string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if body, ok := p.rendered[l+"/"+page]; ok {
		return body, nil
	}
	f, err := p.frame(l)
	if err != nil {
		return "", err
	}
	body, err := p.render(f, l, page)
	if err != nil {
		return "", err
	}
	if p.rendered == nil {
		p.rendered = map[string]string{}
	}
	p.rendered[l+"/"+page] = body
	return body, nil
}

// frame translates the layout into l (p.mu held).
func (p *pageSet) frame(l string) (frame, error) {
	if f, ok := p.frames[l]; ok {
		return f, nil
	}
	cat, err := locale.LoadCatalog(catalogFiles, "locales", l)
	if err != nil {
		return frame{}, err
	}
	b := p.brand
	conf, err := json.Marshal(struct {
		ReturnOrigins []string        `json:"returnOrigins"`
		ProductName   string          `json:"productName"`
		Locale        string          `json:"locale"`
		Messages      *locale.Catalog `json:"messages"`
	}{p.returnOrigins, b.ProductName, l, cat})
	if err != nil {
		return frame{}, err
	}
	support := ""
	if b.SupportURL != "" {
		support = `<p class="support">` + html.EscapeString(cat.T("layout.support")) + ` <a href="` + html.EscapeString(b.SupportURL) +
			`" rel="noopener noreferrer" target="_blank">` + html.EscapeString(cat.T("layout.support_link")) + "</a></p>"
	}
	// {{t:key}} may appear in the layout and in the page; they are filled before the
	// config (which holds the catalog) goes in.
	translated, err := translate(p.layout, cat)
	if err != nil {
		return frame{}, fmt.Errorf("webui: layout.html in %s: %w", l, err)
	}
	f := frame{html: translated, config: string(conf), support: support, cat: cat}
	if p.frames == nil {
		p.frames = map[string]frame{}
	}
	p.frames[l] = f
	return f, nil
}

// render fills page into the frame of locale l.
func (p *pageSet) render(f frame, l, name string) (string, error) {
	body, err := static.ReadFile("static/" + name + ".html")
	if err != nil {
		return "", err
	}
	translated, err := translate(string(body), f.cat)
	if err != nil {
		return "", fmt.Errorf("webui: %s.html in %s: %w", name, l, err)
	}
	title, main, ok := strings.Cut(translated, "\n")
	if !ok {
		return "", fmt.Errorf("webui: %s.html: the first line is the title", name)
	}
	product := html.EscapeString(p.brand.ProductName)
	return strings.NewReplacer(
		"{{title}}", strings.TrimSpace(title)+" · "+product,
		// {{v}} may appear in the layout and in the page body.
		"{{v}}", p.version,
		"{{product}}", product,
		"{{config}}", html.EscapeString(f.config),
		"{{page}}", name,
		"{{lang}}", l,
		"{{logo}}", html.EscapeString(p.logo),
		"{{support}}", f.support,
		"{{main}}", strings.ReplaceAll(main, "{{v}}", p.version),
	).Replace(f.html), nil
}
