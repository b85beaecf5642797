package console_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	cdppage "github.com/chromedp/cdproto/page"
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

// signInSteps sign a browser in as user of account A.
func signInSteps(endpoint, user string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(endpoint+"/console/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=account]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=account]`), testserver.AccountA),
		chromedp.SendKeys(chromedp.CSS(`input[name=user]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.tiles`)),
	)
}

// notice waits for the notice an action ends with. Each wait is for what
// only the next page shows: the page before it may still be there.
func notice(text string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.Search(`//div[@class="notice" and contains(., "` + text + `")]`))
}

// view saves a screenshot of what the tab shows, as name.png.
func view(dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		png, err := chromedp.CaptureScreenshot()(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	})
}

// TestInABrowser drives the console in headless Chromium: sign in, start an
// incident from a plan, change its impact, add and edit a note, add a
// related item, resolve it; a second session sees each change without a
// reload, and a user without the right sees the refusal.
func TestInABrowser(t *testing.T) {
	s, _ := world(t)
	ctx := chromium(t)
	dir := screenshots(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.Endpoint+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=account]`)),
		shot(dir, "sign-in"),
		signInSteps(s.Endpoint, "responder"),
		shot(dir, "incidents"),
		chromedp.SendKeys(chromedp.CSS(`form[action="/console/start"] input[name=title]`), "Browser-started incident"),
		chromedp.SetValue(chromedp.CSS(`form[action="/console/start"] select[name=impact]`), "2"),
		chromedp.Submit(chromedp.CSS(`form[action="/console/start"] input[name=title]`)),
		notice("Incident started."),
	)
	if err != nil {
		t.Fatalf("the browser: %v", err)
	}
	arn, err := chromedp.Run(ctx, chromedp.Evaluate[string](`new URL(location.href).searchParams.get("arn")`))
	if err != nil || arn == "" {
		t.Fatalf("the incident's address: %q %v", arn, err)
	}

	// A second session, in another browser, watches the incident: what
	// the first changes shows there without a reload.
	watcher := chromium(t)
	err = chromedp.Do(watcher,
		signInSteps(s.Endpoint, "viewer"),
		chromedp.Navigate(s.Endpoint+"/console/incident?arn="+url.QueryEscape(arn)),
		chromedp.WaitVisible(chromedp.CSS(`#banner`)),
		chromedp.WaitVisible(chromedp.CSS(`html[data-live-mode=stream]`)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`window.notReloaded = true`)(ctx, t)
			return err
		}),
	)
	if err != nil {
		t.Fatalf("the second session: %v", err)
	}
	// Its first load: what it transferred, and from where.
	type load struct {
		Bytes int
		Hosts []string
	}
	first, err := chromedp.Run(watcher, chromedp.Evaluate[load](`(() => {
		const all = performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource"));
		return {bytes: all.reduce((n, e) => n + (e.transferSize || 0), 0), hosts: [...new Set(all.map(e => new URL(e.name).host))]};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first load of the incident page: %d bytes from %v", first.Bytes, first.Hosts)
	if host := strings.TrimPrefix(s.Endpoint, "http://"); first.Bytes == 0 || first.Bytes > 150_000 || len(first.Hosts) != 1 || first.Hosts[0] != host {
		t.Errorf("the first load of the incident page took %d bytes from %v; want under 150 KB, from %s only", first.Bytes, first.Hosts, host)
	}

	// The first session changes the impact, adds and edits a note, adds a
	// related item; the watcher sees each.
	for _, step := range []struct {
		name  string
		do    chromedp.Action[chromedp.Void]
		watch string // an XPath of what the watcher then shows
	}{
		{"impact", chromedp.Steps(
			chromedp.SetValue(chromedp.CSS(`#overview select[name=impact]`), "1"),
			chromedp.Click(chromedp.CSS(`#overview form button`)),
			notice("Incident updated."),
		), `//section[@id="banner"]//span[.="impact 1"]`},
		{"note", chromedp.Steps(
			chromedp.SendKeys(chromedp.CSS(`textarea[name=note]`), "Rolled back the deployment from the browser."),
			chromedp.Click(chromedp.CSS(`form[action="/console/incident/note"] button`)),
			notice("Note added."),
		), `//ul[@class="notes"]//pre[.="Rolled back the deployment from the browser."]`},
		{"note edit", chromedp.Steps(
			chromedp.Click(chromedp.CSS(`#notes details.edit summary`)),
			chromedp.SetValue(chromedp.CSS(`#notes details.edit textarea[name=data]`), "Rolled back release 42 from the browser."),
			chromedp.Click(chromedp.CSS(`#notes details.edit form[action="/console/incident/event/update"] button`)),
			notice("Event changed."),
		), `//ul[@class="notes"]//pre[.="Rolled back release 42 from the browser."]`},
		{"related item", chromedp.Steps(
			chromedp.SetValue(chromedp.CSS(`#items select[name=type]`), "METRIC"),
			chromedp.SendKeys(chromedp.CSS(`#items input[name=value]`), "https://grafana.example.com/d/checkout"),
			chromedp.SendKeys(chromedp.CSS(`#items input[name=title]`), "Checkout latency"),
			chromedp.Click(chromedp.CSS(`#items form[action="/console/incident/item/add"] button`)),
			notice("Related item added."),
			shot(dir, "incident"),
			view(dir, "incident-top"),
		), `//section[@id="items"]//a[.="https://grafana.example.com/d/checkout"]`},
		{"resolution", chromedp.Steps(
			chromedp.Click(chromedp.CSS(`form.status-form button`)),
			chromedp.WaitReady(chromedp.CSS(`input[name=status][value=OPEN]`)),
		), `//section[@id="banner"]//strong[.="RESOLVED"]`},
	} {
		if err := chromedp.Do(ctx, step.do); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if err := chromedp.Do(watcher, chromedp.WaitVisible(chromedp.Search(step.watch))); err != nil {
			t.Fatalf("the second session does not see the %s: %v", step.name, err)
		}
	}
	// A choice the watcher made and has not sent stays through a change
	// shown live.
	if err := chromedp.Do(watcher, chromedp.SetValue(chromedp.CSS(`#overview select[name=impact]`), "4")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.A().UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Title: aws.String("Renamed through the API")}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(watcher, chromedp.WaitVisible(chromedp.Search(`//section[@id="banner"]/h1[.="Renamed through the API"]`))); err != nil {
		t.Fatalf("the second session does not see the API's change: %v", err)
	}
	if got, err := chromedp.Run(watcher, chromedp.Evaluate[string](`document.querySelector("#overview select[name=impact]").value`)); err != nil || got != "4" {
		t.Errorf("the watcher's unsent choice of impact became %q (%v)", got, err)
	}
	if same, err := chromedp.Run(watcher, chromedp.Evaluate[bool](`window.notReloaded === true`)); err != nil || !same {
		t.Errorf("the second session's page was reloaded (%v)", err)
	}

	// The viewer may read, not change: the refusal is shown on the page,
	// which still follows the incident.
	err = chromedp.Do(watcher,
		chromedp.Click(chromedp.CSS(`#overview form button`)),
		chromedp.WaitVisible(chromedp.CSS(`div.error`)),
		shot(dir, "refused"),
	)
	if err != nil {
		t.Fatalf("the viewer's browser: %v", err)
	}
	body, err := chromedp.Run(watcher, chromedp.Text(chromedp.CSS(`div.error`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "user/viewer is not authorized to perform: ssm-incidents:UpdateIncidentRecord") {
		t.Errorf("the viewer sees %q", body)
	}
	if _, err := s.A().UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Title: aws.String("Renamed after the refusal")}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(watcher, chromedp.WaitVisible(chromedp.Search(`//section[@id="banner"]/h1[.="Renamed after the refusal"]`))); err != nil {
		t.Fatalf("the refusal's page does not follow the incident: %v", err)
	}
	if loc, err := chromedp.Run(watcher, chromedp.Location()); err != nil || !strings.Contains(loc, "/console/incident?arn=") {
		t.Errorf("the refusal's page is at %s (%v), not the incident's address", loc, err)
	}
}

// TestInABrowserWithoutEventSource checks the fallback of a browser in
// which no stream gets through: the page polls, and still shows a change
// without a reload. It also looks at the pages on a narrow phone screen.
func TestInABrowserWithoutEventSource(t *testing.T) {
	s, incident := world(t)
	ctx := chromium(t)
	dir := screenshots(t)
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: `delete window.EventSource`})
			return err
		}),
		chromedp.EmulateViewport(390, 844),
		signInSteps(s.Endpoint, "responder"),
		shot(dir, "incidents-phone"),
		chromedp.Navigate(s.Endpoint+"/console/incident?arn="+url.QueryEscape(incident)),
		chromedp.WaitVisible(chromedp.CSS(`html[data-live-mode=polling]`)),
	)
	if err != nil {
		t.Fatalf("the browser: %v", err)
	}
	if _, err := s.A().CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{IncidentRecordArn: &incident, EventType: aws.String("Note"),
		EventData: aws.String("Seen by a polling page."), EventTime: aws.Time(time.Now())}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.Search(`//ul[@class="notes"]//pre[.="Seen by a polling page."]`)),
		shot(dir, "incident-phone"),
	); err != nil {
		t.Fatalf("the polling page does not show the note: %v", err)
	}
	// Nothing is wider than the screen.
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || wide {
		t.Errorf("the incident page is wider than a phone's screen (%v)", err)
	}
}
