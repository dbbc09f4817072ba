package brand

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	b, err := Brand{}.Normalize()
	if err != nil || b.ProductName != DefaultProductName || b.DefaultLocale != "en" {
		t.Fatalf("defaults: %+v, %v", b, err)
	}
	good := Brand{ProductName: " Acme ", SupportURL: "https://help.acme.example/mfa", LogoURL: "/brand/logo.svg",
		AccentColor: "#0A7", DefaultLocale: "de-CH"}
	b, err = good.Normalize()
	if err != nil || b.ProductName != "Acme" || b.AccentColor != "#0a7" || b.DefaultLocale != "de" {
		t.Fatalf("good: %+v, %v", b, err)
	}
	for _, logo := range []string{"data:image/png;base64,iVBORw0KGgo=", "data:image/svg+xml;base64,PHN2Zy8+"} {
		if _, err := (Brand{LogoURL: logo}).Normalize(); err != nil {
			t.Errorf("logo %q refused: %v", logo, err)
		}
	}
	bad := map[string]Brand{
		"long name":         {ProductName: strings.Repeat("x", 41)},
		"control in name":   {ProductName: "Ac\u202eme"},
		"http support":      {SupportURL: "http://help.example"},
		"js support":        {SupportURL: "javascript:alert(1)"},
		"support quote":     {SupportURL: "https://x.example/\"onmouseover"},
		"remote logo":       {LogoURL: "https://cdn.example/logo.png"},
		"protocol-relative": {LogoURL: "//cdn.example/logo.png"},
		"relative logo":     {LogoURL: "logo.png"},
		"html data logo":    {LogoURL: "data:text/html;base64,PGI+"},
		"bad base64 logo":   {LogoURL: "data:image/png;base64,***"},
		"huge logo":         {LogoURL: "data:image/png;base64," + strings.Repeat("A", 40<<10)},
		"named color":       {AccentColor: "red"},
		"css injection":     {AccentColor: "#fff;}body{x"},
		"unknown locale":    {DefaultLocale: "ko"},
		"bad locale":        {DefaultLocale: "!!"},
	}
	for name, b := range bad {
		if _, err := b.Normalize(); err == nil {
			t.Errorf("%s: accepted %+v", name, b)
		}
	}
}

func TestOnAccentReads(t *testing.T) {
	for _, c := range []string{"#2753c9", "#ffcc00", "#777777", "#000000", "#ffffff", "#0a7"} {
		fg := OnAccent(c)
		if r := Contrast(c, fg); r < 4.5 {
			t.Errorf("%s on %s: contrast %.2f < 4.5", fg, c, r)
		}
	}
	if OnAccent("#ffcc00") != "#000000" || OnAccent("#2753c9") != "#ffffff" {
		t.Error("OnAccent picks the wrong text color")
	}
}
