package localaws

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// Channels of a SentMessage.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// SentMessage is one email or SMS that moto accepted, as its recipient would see it.
type SentMessage struct {
	// ID is moto's message id. An email to several recipients is listed once per recipient,
	// each entry with the same ID.
	ID      string
	Channel string // ChannelEmail or ChannelSMS
	// Destination is the recipient's bare email address, or the phone number as published.
	Destination string
	Subject     string // empty for SMS
	// Body is the text body of an email, or the SMS text. moto keeps only one body of an
	// email sent with both a text and an HTML part (the HTML one); Body is then a plain-text
	// rendering of HTML.
	Body string
	HTML string // the HTML body of an email, when it had one
	// SentAt is always zero: moto records no send time. See Outbox for the order.
	SentAt time.Time
}

// Outbox lists the emails (SES v1 and v2: moto keeps both in one backend) and SMS (SNS
// Publish to a phone number) that the moto at endpoint has accepted, in every account and
// region. Refused sends are not listed.
//
// It reads GET {endpoint}/moto-api/data.json, moto's dump of every model it keeps: the "ses"
// models Message (SendEmail, Simple content), RawMessage and TemplateMessage, and the "sns"
// model SMS. moto keeps these in send order per model but records no time and no order
// between models, so the result is: simple emails, then raw ones, then templated ones, then
// SMS, each group oldest first. For one destination, which is what a test or a user reads,
// that is send order, since an address only ever receives through one channel and this
// service sends simple emails only. Templated emails are listed with their template data as
// Body: moto does not render templates.
//
// moto builds data.json from every object it ever created, including each copy of a
// DynamoDB item that a transaction made, so the call gets slower as a moto ages: about 50 µs
// per such copy. Against a moto that has run thousands of transactions, expect seconds.
func Outbox(ctx context.Context, endpoint string) ([]SentMessage, error) {
	url := strings.TrimRight(endpoint, "/") + "/moto-api/data.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("localaws: outbox: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("localaws: outbox: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("localaws: outbox: GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(snippet))
	}
	var data motoData
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		return nil, fmt.Errorf("localaws: outbox: decode %s: %w", url, err)
	}
	return data.messages(), nil
}

// motoData is the part of moto's data.json that holds sent messages: service → model →
// instances, each instance the JSON-serialisable attributes of the Python object.
type motoData struct {
	SES struct {
		Message []struct {
			ID           string          `json:"id"`
			Subject      string          `json:"subject"`
			Body         string          `json:"body"`
			Destinations sesDestinations `json:"destinations"`
		} `json:"Message"`
		RawMessage []struct {
			ID           string   `json:"id"`
			Destinations []string `json:"destinations"` // bare or "Name <addr>", may repeat
			RawData      string   `json:"raw_data"`
		} `json:"RawMessage"`
		TemplateMessage []struct {
			ID           string          `json:"id"`
			TemplateData string          `json:"template_data"`
			Destinations json.RawMessage `json:"destinations"` // one Destination, or a bulk list
		} `json:"TemplateMessage"`
	} `json:"ses"`
	SNS struct {
		SMS []struct {
			ID          string `json:"message_id"`
			PhoneNumber string `json:"phone_number"`
			Message     string `json:"message"`
		} `json:"SMS"`
	} `json:"sns"`
}

// sesDestinations is SES's Destination.
type sesDestinations struct {
	ToAddresses  []string
	CcAddresses  []string
	BccAddresses []string
}

func (d sesDestinations) all() []string {
	return append(append(append([]string(nil), d.ToAddresses...), d.CcAddresses...), d.BccAddresses...)
}

func (d motoData) messages() []SentMessage {
	out := []SentMessage{} // an empty outbox is [] in JSON, not null
	email := func(id string, to []string, subject, text, html string) {
		for _, addr := range recipients(to) {
			out = append(out, SentMessage{ID: id, Channel: ChannelEmail, Destination: addr, Subject: subject, Body: text, HTML: html})
		}
	}
	for _, m := range d.SES.Message {
		if looksLikeHTML(m.Body) {
			email(m.ID, m.Destinations.all(), m.Subject, htmlToText(m.Body), m.Body)
		} else {
			email(m.ID, m.Destinations.all(), m.Subject, m.Body, "")
		}
	}
	for _, m := range d.SES.RawMessage {
		subject, text, html := parseMIME(m.RawData)
		email(m.ID, m.Destinations, subject, text, html)
	}
	for _, m := range d.SES.TemplateMessage {
		email(m.ID, templateRecipients(m.Destinations), "", m.TemplateData, "")
	}
	for _, m := range d.SNS.SMS {
		out = append(out, SentMessage{ID: m.ID, Channel: ChannelSMS, Destination: m.PhoneNumber, Body: m.Message})
	}
	return out
}

// templateRecipients reads a TemplateMessage's destinations: a Destination for
// SendTemplatedEmail, a list of {Destination, ReplacementTemplateData} for the bulk call.
func templateRecipients(raw json.RawMessage) []string {
	var one sesDestinations
	if json.Unmarshal(raw, &one) == nil {
		return one.all()
	}
	var bulk []struct{ Destination sesDestinations }
	if json.Unmarshal(raw, &bulk) != nil {
		return nil
	}
	var all []string
	for _, b := range bulk {
		all = append(all, b.Destination.all()...)
	}
	return all
}

// recipients reduces addresses, bare or with a display name, to distinct bare addresses in
// their first order. moto lists a raw email's recipients twice: as the request named them
// and as its To/Cc/Bcc headers did.
func recipients(addrs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range addrs {
		if parsed, err := mail.ParseAddress(a); err == nil {
			a = parsed.Address
		}
		if key := strings.ToLower(a); !seen[key] {
			seen[key] = true
			out = append(out, a)
		}
	}
	return out
}

// looksLikeHTML tells an HTML body from a text one, which moto stores in the same field. An
// HTML email body is a document or fragment in tags from start to end; a text body that
// merely mentions a tag is not.
func looksLikeHTML(body string) bool {
	b := strings.TrimSpace(body)
	return strings.HasPrefix(b, "<") && strings.HasSuffix(b, ">")
}

var (
	invisibleBlocks = regexp.MustCompile(`(?is)<head\b.*?</head\s*>|<style\b.*?</style\s*>|<script\b.*?</script\s*>|<!--.*?-->`)
	lineBreakTags   = regexp.MustCompile(`(?i)<br\s*/?>|</(?:p|div|tr|li|h[1-6]|table|blockquote|pre)\s*>|<hr\b[^>]*>`)
	anyTag          = regexp.MustCompile(`(?s)<[^>]*>`)
	htmlSpace       = regexp.MustCompile(`[ \t\r\n\f]+`)
	textSpace       = regexp.MustCompile(`[ \x{a0}]+`)
)

// htmlToText renders an HTML email body as the text a reader would see: no head, styles or
// scripts, a line per block, entities decoded, runs of space and blank lines collapsed.
func htmlToText(s string) string {
	s = invisibleBlocks.ReplaceAllString(s, "")
	s = htmlSpace.ReplaceAllString(s, " ") // line breaks in HTML source are only spaces
	s = lineBreakTags.ReplaceAllString(s, "\n")
	s = anyTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	var lines []string
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSpace(textSpace.ReplaceAllString(line, " "))
		if line == "" && (len(lines) == 0 || lines[len(lines)-1] == "") {
			continue
		}
		lines = append(lines, line)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// parseMIME reads the subject and the text and HTML bodies of a raw MIME email. What cannot
// be parsed is left empty; if the message cannot be parsed at all, Body is the raw data, so
// nothing that was sent is hidden.
func parseMIME(raw string) (subject, text, html string) {
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		return "", raw, ""
	}
	subject = msg.Header.Get("Subject")
	if decoded, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = decoded
	}
	text, html = mimeBodies(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	if text == "" && html != "" {
		text = htmlToText(html)
	}
	return subject, text, html
}

// mimeBodies returns the first text/plain and text/html parts of a (possibly nested)
// multipart body.
func mimeBodies(contentType, encoding string, body io.Reader, depth int) (text, html string) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if contentType == "" || err != nil {
		mediaType = "text/plain" // RFC 2045's default
	}
	switch {
	case strings.HasPrefix(mediaType, "multipart/") && depth < 5:
		r := multipart.NewReader(body, params["boundary"])
		for {
			// NextPart undoes quoted-printable itself; base64 is left to us.
			part, err := r.NextPart()
			if err != nil {
				return text, html
			}
			t, h := mimeBodies(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part, depth+1)
			if text == "" {
				text = t
			}
			if html == "" {
				html = h
			}
		}
	case mediaType == "text/plain", mediaType == "text/html":
		b, err := io.ReadAll(decodeTransfer(encoding, body))
		if err != nil {
			return "", ""
		}
		if mediaType == "text/html" {
			return "", string(b)
		}
		return string(b), ""
	}
	return "", ""
}

func decodeTransfer(encoding string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r) // skips the line breaks itself
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}
