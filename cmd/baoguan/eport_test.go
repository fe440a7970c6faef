package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bad E-Port setting stops start-up with a message naming it, before
// anything is opened.
func TestBadEPortSettingsStopStartup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := []string{"--eport-customs", "HG014", "--eport-pay-code", "1101110323", "--eport-pay-name", "荔枝支付",
		"--eport-cop-code", "1101110323", "--eport-cop-name", "荔枝支付", "--eport-dxp-id", "DXPENT0000011951",
		"--eport-outbox", filepath.Join(dir, "out"), "--eport-inbox", filepath.Join(dir, "in")}
	with := func(extra ...string) []string { return append(append([]string{"serve"}, good...), extra...) }
	tests := []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"unknown customs code", []string{"serve", "--eport-customs", "HG014,HG999"}, nil,
			[]string{`--eport-customs: HG999 is not a code of the customs catalogue`}},
		{"required settings", []string{"serve", "--eport-customs", "HG014"}, nil,
			[]string{`--eport-pay-code: required with --eport-customs`, `--eport-dxp-id: required`, `--eport-outbox: required`, `--eport-inbox: required`}},
		{"bad pay code", with("--eport-pay-code", "1101-110323"), nil,
			[]string{`--eport-pay-code: payCode may hold only letters and digits`}},
		{"sender id too long", with(), []string{"BAOGUAN_EPORT_SENDER_ID", strings.Repeat("D", 31)},
			[]string{`BAOGUAN_EPORT_SENDER_ID: sender_id is longer than 30 characters`}},
		{"dxp id too long", with("--eport-dxp-id", strings.Repeat("D", 31)), nil,
			[]string{`--eport-dxp-id: dxpId is longer than 30 characters`}},
		{"http signer without URL", with("--eport-signer", "http"), nil,
			[]string{`--eport-signer-url: invalid URL ""`}},
		{"unknown signer", with("--eport-signer", "ukey"), nil,
			[]string{`--eport-signer: invalid signer "ukey" (use none or http)`}},
		{"179 unsigned", with("--eport-179-upload-url", "https://customs.example/ceb2grab/grab/realTimeDataUpload"), nil,
			[]string{`--eport-179-upload-url: 179 data must be signed by baoguan: set --eport-signer http`}},
		{"short secret", with("--eport-secret", "short"), nil,
			[]string{`--eport-secret: too short`}},
		{"missing parent folder", with("--eport-outbox", "/nonexistent-dir/out"), nil,
			[]string{`--eport-outbox: the parent folder of "/nonexistent-dir/out" does not exist`}},
		{"bad poll", with("--eport-poll", "0s"), nil,
			[]string{`--eport-poll: invalid duration "0s"`}},
		{"ebp code without name", with("--eport-ebp-code", "46016602EV"), nil,
			[]string{`--eport-ebp-code: give the platform's code and name together`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, path := dbIn(t)
			args := append(append([]string(nil), tt.args...), "--db", db, "--addr", "127.0.0.1:0")
			_, err := runCmd(t, envOf(tt.env...), args...)
			if err == nil {
				t.Fatalf("baoguan %v started; want an error", args)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if _, err := os.Stat(path); err == nil {
				t.Errorf("a database was created although start-up failed")
			}
		})
	}
}
