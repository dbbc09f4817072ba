package localaws

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

func TestOutboxOfAFreshMotoIsEmpty(t *testing.T) {
	m := runMoto(t)
	got, err := Outbox(t.Context(), m.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("outbox = %+v, want empty", got)
	}
}

func TestOutboxListsWhatMotoAccepted(t *testing.T) {
	m := runMoto(t)
	cfg, err := AWSConfig(t.Context(), m.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	ses, text := sesv2.NewFromConfig(cfg), sns.NewFromConfig(cfg)
	const sender = "sender@example.com"
	if err := ensureSender(t.Context(), ses, sender); err != nil {
		t.Fatal(err)
	}
	simple := func(dest *sestypes.Destination, subject, textBody, htmlBody string) {
		t.Helper()
		body := &sestypes.Body{}
		if textBody != "" {
			body.Text = &sestypes.Content{Data: aws.String(textBody)}
		}
		if htmlBody != "" {
			body.Html = &sestypes.Content{Data: aws.String(htmlBody)}
		}
		_, err := ses.SendEmail(t.Context(), &sesv2.SendEmailInput{
			FromEmailAddress: aws.String(sender),
			Destination:      dest,
			Content:          &sestypes.EmailContent{Simple: &sestypes.Message{Subject: &sestypes.Content{Data: aws.String(subject)}, Body: body}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sms := func(phone, msg string) {
		t.Helper()
		if _, err := text.Publish(t.Context(), &sns.PublishInput{PhoneNumber: aws.String(phone), Message: aws.String(msg)}); err != nil {
			t.Fatal(err)
		}
	}

	sms("+442079460958", "111111 is your code")
	simple(&sestypes.Destination{ToAddresses: []string{"ann@example.com"}}, "Text only", "Your code is 222222.", "")
	simple(&sestypes.Destination{ToAddresses: []string{"bob@example.com"}}, "Both bodies", "text part, lost in moto",
		"<!DOCTYPE html><html><head><title>Both bodies</title><style>p{color:red}</style></head>"+
			"<body><p>Your <b>Acme &lt;b&gt;</b> code is</p><p>333333</p><p>It expires&nbsp;soon.<br>Bye</p></body></html>")
	simple(&sestypes.Destination{ToAddresses: []string{"to1@example.com", "to2@example.com"}, CcAddresses: []string{"cc@example.com"}, BccAddresses: []string{"bcc@example.com"}},
		"Many", "To all of you", "")
	// A refused send (unverified sender) is not in the outbox.
	_, err = ses.SendEmail(t.Context(), &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("stranger@example.com"),
		Destination:      &sestypes.Destination{ToAddresses: []string{"ann@example.com"}},
		Content:          &sestypes.EmailContent{Simple: &sestypes.Message{Subject: &sestypes.Content{Data: aws.String("refused")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("x")}}}},
	})
	if err == nil {
		t.Fatal("moto sent from an unverified address")
	}
	raw := "From: " + sender + "\r\nTo: Carol Example <carol@example.com>\r\nSubject: =?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte("Grüße")) + "?=\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n" +
		"--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n" +
		"--inner\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCode 444444, sch=C3=B6n\r\n" +
		"--inner\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte("<p>Code <b>444444</b></p>")) + "\r\n" +
		"--inner--\r\n--outer--\r\n"
	_, err = ses.SendEmail(t.Context(), &sesv2.SendEmailInput{
		Destination: &sestypes.Destination{ToAddresses: []string{"carol@example.com"}},
		Content:     &sestypes.EmailContent{Raw: &sestypes.RawMessage{Data: []byte(raw)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sms("+16502530000", "555555 is your code")

	got, err := Outbox(t.Context(), m.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i].ID == "" {
			t.Errorf("message %d has no ID", i)
		}
		if !got[i].SentAt.IsZero() {
			t.Errorf("message %d has SentAt %v; moto records none", i, got[i].SentAt)
		}
	}
	if len(got) == 9 && (got[2].ID != got[3].ID || got[2].ID != got[5].ID || got[0].ID == got[1].ID) {
		t.Errorf("IDs: one email to four recipients should share one, others not: %+v", got)
	}
	for i := range got {
		got[i].ID = ""
	}
	want := []SentMessage{
		{Channel: ChannelEmail, Destination: "ann@example.com", Subject: "Text only", Body: "Your code is 222222."},
		{Channel: ChannelEmail, Destination: "bob@example.com", Subject: "Both bodies",
			Body: "Your Acme <b> code is\n333333\nIt expires soon.\nBye",
			HTML: "<!DOCTYPE html><html><head><title>Both bodies</title><style>p{color:red}</style></head>" +
				"<body><p>Your <b>Acme &lt;b&gt;</b> code is</p><p>333333</p><p>It expires&nbsp;soon.<br>Bye</p></body></html>"},
		{Channel: ChannelEmail, Destination: "to1@example.com", Subject: "Many", Body: "To all of you"},
		{Channel: ChannelEmail, Destination: "to2@example.com", Subject: "Many", Body: "To all of you"},
		{Channel: ChannelEmail, Destination: "cc@example.com", Subject: "Many", Body: "To all of you"},
		{Channel: ChannelEmail, Destination: "bcc@example.com", Subject: "Many", Body: "To all of you"},
		{Channel: ChannelEmail, Destination: "carol@example.com", Subject: "Grüße", Body: "Code 444444, schön", HTML: "<p>Code <b>444444</b></p>"},
		{Channel: ChannelSMS, Destination: "+442079460958", Body: "111111 is your code"},
		{Channel: ChannelSMS, Destination: "+16502530000", Body: "555555 is your code"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("outbox:\n got %+v\nwant %+v", got, want)
	}
}

// Templated emails cannot be sent through SES v2 in moto 5.2 (NotImplementedError), so their
// shapes come from a v1 send recorded by hand.
func TestOutboxReadsTemplatedEmails(t *testing.T) {
	const dump = `{"ses": {"TemplateMessage": [
	  {"id": "t1", "source": "s@example.com", "template": "tpl", "template_data": "{\"name\":\"x\"}",
	   "destinations": {"ToAddresses": ["tpl@example.com"]}},
	  {"id": "t2", "source": "s@example.com", "template": "tpl", "template_data": "{\"name\":\"y\"}",
	   "destinations": [{"Destination": {"ToAddresses": ["bulk1@example.com"]}, "ReplacementTemplateData": "{}"},
	                    {"Destination": {"ToAddresses": ["bulk2@example.com"], "CcAddresses": ["bulk1@example.com"]}}]}
	]}, "sqs": {"Message": [{"body": "not an email"}]}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/moto-api/data.json" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(dump))
	}))
	defer srv.Close()

	got, err := Outbox(t.Context(), srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	want := []SentMessage{
		{ID: "t1", Channel: ChannelEmail, Destination: "tpl@example.com", Body: `{"name":"x"}`},
		{ID: "t2", Channel: ChannelEmail, Destination: "bulk1@example.com", Body: `{"name":"y"}`},
		{ID: "t2", Channel: ChannelEmail, Destination: "bulk2@example.com", Body: `{"name":"y"}`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("outbox:\n got %+v\nwant %+v", got, want)
	}
}

func TestOutboxErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer srv.Close()
	if _, err := Outbox(t.Context(), srv.URL); err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "boom") {
		t.Errorf("500 from moto: err = %v, want the status and body", err)
	}

	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }))
	defer notJSON.Close()
	if _, err := Outbox(t.Context(), notJSON.URL); err == nil || !strings.Contains(err.Error(), "decode") {
		t.Errorf("non-JSON answer: err = %v, want a decode error", err)
	}

	port, err := freePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Outbox(t.Context(), "http://127.0.0.1:"+strconv.Itoa(port)); err == nil {
		t.Error("no server: want an error")
	}
}

func TestHTMLToText(t *testing.T) {
	tests := map[string]string{
		"<p>a</p><p>b</p>":                                                "a\nb",
		"<div>one<br/>two<br>three</div>":                                 "one\ntwo\nthree",
		"<p>  lots   of \n\t space </p>":                                  "lots of space",
		"<p>x</p>\n\n\n<p>y</p>":                                          "x\ny",
		"<!-- hidden 123456 --><p>shown</p>":                              "shown",
		"<head><title>T</title></head><p>body</p>":                        "body",
		"<p>&lt;b&gt; &amp; &quot;q&quot; &#39;</p>":                      "<b> & \"q\" '",
		"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>": "ab\nc",
	}
	for in, want := range tests {
		if got := htmlToText(in); got != want {
			t.Errorf("htmlToText(%q) = %q, want %q", in, got, want)
		}
	}
}
