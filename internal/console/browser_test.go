package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/incidentd/incidentd/internal/testserver"
)

// screenshots is where the browser tests leave a picture of each main page:
// $INCIDENTD_ARTIFACTS, else incidentd-screenshots in the temporary
// directory.
func screenshots(t *testing.T) string {
	dir := os.Getenv("INCIDENTD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "incidentd-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromium starts a headless Chromium (Debian's package chromium) for the
// test and returns a context of a new tab in it.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		testserver.MissingTool(t, "chromium is not installed: apt-get install -y chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// The first run starts the browser, and must have no timeout of its
	// own; the steps of the test then run within a bound.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTime)
	return ctx
}

// shot saves a full-page screenshot of the tab as name.png.
func shot(dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, t) // quality 100: PNG
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	})
}

// TestInABrowser drives the console in headless Chromium: sign in, start an
// incident from a plan, change its impact, add a note, resolve it; and a
// user without the right sees the refusal.
func TestInABrowser(t *testing.T) {
	s, _ := world(t)
	ctx := chromium(t)
	dir := screenshots(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.Endpoint+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=account]`)),
		shot(dir, "sign-in"),
		chromedp.SendKeys(chromedp.CSS(`input[name=account]`), testserver.AccountA),
		chromedp.SendKeys(chromedp.CSS(`input[name=user]`), "responder"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.tiles`)),
		shot(dir, "incidents"),
		chromedp.SendKeys(chromedp.CSS(`form[action="/console/start"] input[name=title]`), "Browser-started incident"),
		chromedp.SetValue(chromedp.CSS(`form[action="/console/start"] select[name=impact]`), "2"),
		chromedp.Submit(chromedp.CSS(`form[action="/console/start"] input[name=title]`)),
		chromedp.WaitVisible(chromedp.Search(`//div[@class="notice" and contains(., "Incident started.")]`)),
		chromedp.SetValue(chromedp.CSS(`select[name=impact]`), "1"),
		chromedp.Click(chromedp.CSS(`form[action="/console/incident/update"] button`)),
		// Each wait is for what only the next page shows: the page before
		// it may still be there.
		chromedp.WaitVisible(chromedp.Search(`//div[@class="notice" and contains(., "Incident updated.")]`)),
		chromedp.SendKeys(chromedp.CSS(`textarea[name=note]`), "Rolled back the deployment from the browser."),
		chromedp.Click(chromedp.CSS(`form[action="/console/incident/note"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`li.event-note`)),
		shot(dir, "incident"),
		chromedp.Click(chromedp.CSS(`form.inline[action="/console/incident/update"] button`)),
		chromedp.WaitReady(chromedp.CSS(`input[name=status][value=OPEN]`)),
	)
	if err != nil {
		t.Fatalf("the browser: %v", err)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Browser-started incident", "RESOLVED", "impact 1", "Rolled back the deployment from the browser.", "Reopen"} {
		if !strings.Contains(body, want) {
			t.Errorf("the incident page lacks %q:\n%s", want, body)
		}
	}

	viewer := chromium(t)
	err = chromedp.Do(viewer,
		chromedp.Navigate(s.Endpoint+"/console/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=account]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=account]`), testserver.AccountA),
		chromedp.SendKeys(chromedp.CSS(`input[name=user]`), "viewer"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.tiles`)),
		chromedp.Click(chromedp.CSS(`ul.tiles a`)),
		chromedp.WaitVisible(chromedp.CSS(`section.banner`)),
		chromedp.Click(chromedp.CSS(`form[action="/console/incident/update"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`div.error`)),
		shot(dir, "refused"),
	)
	if err != nil {
		t.Fatalf("the viewer's browser: %v", err)
	}
	if body, err = chromedp.Run(viewer, chromedp.Text(chromedp.CSS(`div.error`))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "user/viewer is not authorized to perform: ssm-incidents:UpdateIncidentRecord") {
		t.Errorf("the viewer sees %q", body)
	}
}
