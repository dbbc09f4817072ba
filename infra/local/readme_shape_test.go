package main

import "testing"

// The shape matcher is what makes the README test able to fail: each documented rule refuses
// what it should.
func TestMatchShape(t *testing.T) {
	tests := []struct {
		got, want string
		ok        bool
	}{
		{`{"a":1,"b":"x"}`, `{"a":1}`, true},
		{`{"a":1}`, `{"a":1,"b":"x"}`, false},
		{`{"a":2}`, `{"a":1}`, false},
		{`{"s":"abc"}`, `{"s":"…"}`, true},
		{`{"s":1}`, `{"s":"…"}`, false},
		{`{"s":"otpauth://totp/x"}`, `{"s":"otpauth://…"}`, true},
		{`{"s":"https://x"}`, `{"s":"otpauth://…"}`, false},
		{`{"s":"exact"}`, `{"s":"exact"}`, true},
		{`{"s":"exact2"}`, `{"s":"exact"}`, false},
		{`[]`, `[]`, true},
		{`[1]`, `[]`, false},
		{`["a","b"]`, `["…"]`, true},
		{`[]`, `["…"]`, false},
		{`["a",2]`, `["…"]`, false},
		{`[true,false]`, `[true,false]`, true},
		{`[true]`, `[true,false]`, false},
		{`true`, `false`, false},
		{`null`, `null`, true},
		{"{\"a\":1}\n{\"b\":2}", "{\"a\":1}\n{\"b\":2}", true},
		{"{\"a\":1}", "{\"a\":1}\n{\"b\":2}", false},
		{"not json", "{}", false},
	}
	for _, tc := range tests {
		err := matchOutputs(tc.got, tc.want)
		if (err == nil) != tc.ok {
			t.Errorf("matchOutputs(%s, %s) = %v, want ok=%v", tc.got, tc.want, err, tc.ok)
		}
	}
}

func TestReadmeBlocks(t *testing.T) {
	md := "intro\n```sh\necho 1\n```\n\n```json\n{\"a\":1}\n```\ntext\n```console\nmake run\n```\n```json\n{}\n```\n```sh\necho 2\n```\n"
	blocks, err := readmeBlocks(md)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 || blocks[0].script != "echo 1" || blocks[0].want != `{"a":1}` || blocks[1].script != "echo 2" || blocks[1].want != "" {
		t.Errorf("blocks = %+v", blocks)
	}
	if _, err := readmeBlocks("```sh\nnever closed\n"); err == nil {
		t.Error("an unclosed fence was accepted")
	}
}
