package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/incidentd/incidentd/internal/testserver"
)

// TestSystemdUnit checks that deploy/incidentd.service runs incidentd serve
// on the data directory systemd gives it (StateDirectory=), as a user of
// its own; systemd-analyze verifies it (with ExecStart pointing at the
// binary built here instead of /usr/local/bin/incidentd, which verify
// requires to exist) and rates its sandboxing as an exposure of at most 2.0
// ("OK").
func TestSystemdUnit(t *testing.T) {
	analyze := testserver.RequireTool(t, "systemd-analyze", "apt-get install -y systemd")
	unit, err := os.ReadFile("../../deploy/incidentd.service")
	if err != nil {
		t.Fatal(err)
	}
	const installed = "ExecStart=/usr/local/bin/incidentd serve "
	if !strings.Contains(string(unit), "\n"+installed) {
		t.Fatalf("the unit does not start %q", installed)
	}
	for _, want := range []string{"\nDynamicUser=yes\n", "\nStateDirectory=incidentd\n", "--data ${STATE_DIRECTORY}", "\nNoNewPrivileges=yes\n", "\nProtectSystem=strict\n"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q", strings.TrimSpace(want))
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "incidentd.service")
	local := strings.Replace(string(unit), installed, "ExecStart="+binary+" serve ", 1)
	if err := os.WriteFile(path, []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || strings.Contains(string(out), "incidentd.service") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=true", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for incidentd\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.0 {
		t.Fatalf("the unit's exposure level is %.1f, want at most 2.0:\n%s", level, out)
	}
}
