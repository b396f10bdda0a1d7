package main

// What sits in front of the simulator's SOAP handler: the test control
// endpoints (/esxsim/, control.go), a log of every SOAP request (so a test
// can check what a client sent, which the simulator would otherwise
// accept and ignore) and one-shot faults a test arms (the host going
// away in the middle of a task, a task that reports progress before it
// ends, a task that fails).

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

type fault struct {
	method  string // the SOAP method that triggers it
	match   string // ... when its body contains this text ("" any)
	action  string // vanish, vanish-before, empty, running, taskerror
	polls   int    // running: how many polls report "running"
	kind    string // taskerror: the fault type
	message string // taskerror: the localized message
}

type simState struct {
	client *vim25.Client
	inner  http.Handler

	logging  bool // keep the request log (off for benchmarks: -log=false)
	mu       sync.Mutex
	requests []string
	faults   []*fault
	gone     bool           // the host went away: every SOAP request is dropped
	running  map[string]int // task -> polls left that report running
	total    map[string]int
	sessions map[string]bool   // session keys clients sent (sessions/expire)
	pages    map[string]string // token -> the objects a paginate fault held back
}

func newSimState(client *vim25.Client, inner http.Handler) *simState {
	return &simState{client: client, inner: inner,
		running: map[string]int{}, total: map[string]int{}, sessions: map[string]bool{},
		pages: map[string]string{}}
}

var (
	methodRe   = regexp.MustCompile(`<(?:[A-Za-z0-9_]+:)?Body[^>]*>\s*<(?:[A-Za-z0-9_]+:)?([A-Za-z0-9_]+)`)
	passwordRe = regexp.MustCompile(`(?s)(<(?:[A-Za-z0-9_]+:)?password[^>]*>).*?(</(?:[A-Za-z0-9_]+:)?password>)`)
	thisRe     = regexp.MustCompile(`<(?:[A-Za-z0-9_]+:)?_this[^>]*type="([^"]+)"[^>]*>([^<]+)<`)
	taskRefRe  = regexp.MustCompile(`<returnval[^>]*type="Task"[^>]*>([^<]+)<`)
	stateRe    = regexp.MustCompile(`(<name>info\.state</name>\s*<val[^>]*>)(success|error)(</val>)`)
	taskObjRe  = regexp.MustCompile(`>(task-[0-9]+)<`)
)

func (st *simState) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/esxsim/") {
		st.control(w, r)
		return
	}
	if r.Method != http.MethodPost {
		st.inner.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	method := ""
	if m := methodRe.FindSubmatch(body); m != nil {
		method = string(m[1])
	}

	st.mu.Lock()
	if ck, err := r.Cookie("vmware_soap_session"); err == nil {
		st.sessions[strings.Trim(ck.Value, `"`)] = true
	}
	if st.logging {
		st.requests = append(st.requests, method+"\t"+string(passwordRe.ReplaceAll(body, []byte("${1}(redacted)${2}"))))
	}
	gone := st.gone
	var f *fault
	for i, x := range st.faults {
		if x.method == method && bytes.Contains(body, []byte(x.match)) {
			f = x
			st.faults = append(st.faults[:i], st.faults[i+1:]...)
			break
		}
	}
	st.mu.Unlock()

	if gone {
		drop(w)
		return
	}
	if f != nil {
		st.inject(w, r, f, body)
		return
	}
	if method == "ContinueRetrievePropertiesEx" && st.continuePage(w, body) {
		return
	}
	if method == "RetrievePropertiesEx" || method == "RetrieveProperties" {
		if task := st.runningTask(body); task != "" {
			st.reportRunning(w, r, task)
			return
		}
	}
	// what vSphere does to a VM's configuration and the simulator does
	// not (config_version.go): a revert restores the snapshot's hardware
	// (the simulator's revert then succeeds: the snapshot exists), and a
	// reconfigure moves the configuration's version
	if method == "RevertToSnapshot_Task" {
		if ref, ok := thisRef(body); ok {
			restoreHardware(ref)
		}
	}
	st.inner.ServeHTTP(w, r)
	if method == "ReconfigVM_Task" {
		if ref, ok := thisRef(body); ok {
			moveConfigVersion(ref)
		}
	}
}

// thisRef is the object a request is about (its _this).
func thisRef(body []byte) (types.ManagedObjectReference, bool) {
	m := thisRe.FindSubmatch(body)
	if m == nil {
		return types.ManagedObjectReference{}, false
	}
	return types.ManagedObjectReference{Type: string(m[1]), Value: string(m[2])}, true
}

// drop closes the connection without an answer: what a client sees when
// the host goes away (or the simulator's handler panics).
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (st *simState) inject(w http.ResponseWriter, r *http.Request, f *fault, body []byte) {
	switch f.action {
	case "vanish-before", "empty":
		if f.action == "vanish-before" {
			st.setGone(true)
		}
		drop(w)
	case "vanish":
		// The request reaches the host, which then goes away before the
		// answer is sent.
		rec := httptest.NewRecorder()
		st.inner.ServeHTTP(rec, r)
		st.setGone(true)
		drop(w)
	case "running":
		rec := httptest.NewRecorder()
		st.inner.ServeHTTP(rec, r)
		if m := taskRefRe.FindSubmatch(rec.Body.Bytes()); m != nil {
			st.mu.Lock()
			st.running[string(m[1])] = f.polls
			st.total[string(m[1])] = f.polls
			st.mu.Unlock()
		}
		copyResponse(w, rec)
	case "taskerror":
		st.failingTask(w, f, body)
	case "paginate":
		st.paginate(w, r, f.polls)
	default:
		http.Error(w, "esxsim: unknown fault action "+f.action, http.StatusInternalServerError)
	}
}

func (st *simState) setGone(gone bool) {
	st.mu.Lock()
	st.gone = gone
	st.mu.Unlock()
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// runningTask is the armed task a property request asks about, if any.
func (st *simState) runningTask(body []byte) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, m := range taskObjRe.FindAllSubmatch(body, -1) {
		if st.running[string(m[1])] > 0 {
			return string(m[1])
		}
	}
	return ""
}

// reportRunning answers a poll of an armed task as the simulator would,
// but with the task still running and a progress figure.
func (st *simState) reportRunning(w http.ResponseWriter, r *http.Request, task string) {
	st.mu.Lock()
	left := st.running[task]
	total := st.total[task]
	st.running[task] = left - 1
	st.mu.Unlock()
	progress := 100 * (total - left + 1) / (total + 1)

	rec := httptest.NewRecorder()
	st.inner.ServeHTTP(rec, r)
	out := stateRe.ReplaceAll(rec.Body.Bytes(), []byte(fmt.Sprintf(
		"${1}running${3}</propSet><propSet><name>info.progress</name>"+
			"<val xmlns:XMLSchema-instance=\"http://www.w3.org/2001/XMLSchema-instance\" "+
			"XMLSchema-instance:type=\"xsd:int\">%d</val>", progress)))
	rec.Body = bytes.NewBuffer(out)
	rec.Header().Del("Content-Length")
	copyResponse(w, rec)
}

// failingTask answers the method with a real task of the simulator that
// failed with the armed fault, without running the method: what a host
// does when an operation fails after it was accepted.
func (st *simState) failingTask(w http.ResponseWriter, f *fault, body []byte) {
	m := thisRe.FindSubmatch(body)
	if m == nil {
		http.Error(w, "esxsim: taskerror needs a request with _this", http.StatusInternalServerError)
		return
	}
	entity := types.ManagedObjectReference{Type: string(m[1]), Value: string(m[2])}
	var err types.BaseMethodFault
	switch f.kind {
	case "ToolsUnavailable":
		err = &types.ToolsUnavailable{}
	case "InvalidPowerState":
		err = &types.InvalidPowerState{}
	case "FileFault":
		err = &types.FileFault{}
	default:
		err = &types.SystemError{Reason: f.message}
	}
	task := simulator.CreateTask(entity, f.method, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return nil, err
	})
	ref := task.Run()
	simulator.Map.Update(task, []types.PropertyChange{{Name: "info.error",
		Val: types.LocalizedMethodFault{Fault: err, LocalizedMessage: f.message}}})
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" `+
		`xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`+
		`<soapenv:Body><%sResponse xmlns="urn:vim25"><returnval type="Task">%s</returnval></%sResponse>`+
		`</soapenv:Body></soapenv:Envelope>`, f.method, ref.Value, f.method)
}

var (
	objectsRe = regexp.MustCompile(`(?s)<objects>.*?</objects>`)
	tokenRe   = regexp.MustCompile(`<token>([^<]+)</token>`)
)

// paginate answers a RetrievePropertiesEx with its first n objects and a
// token, as vCenter does for large results (the simulator never does);
// ContinueRetrievePropertiesEx with the token then gets the rest.
func (st *simState) paginate(w http.ResponseWriter, r *http.Request, n int) {
	rec := httptest.NewRecorder()
	st.inner.ServeHTTP(rec, r)
	body := rec.Body.String()
	objs := objectsRe.FindAllStringIndex(body, -1)
	if n <= 0 || len(objs) <= n {
		copyResponse(w, rec)
		return
	}
	st.mu.Lock()
	token := fmt.Sprintf("esxsim-page-%d", len(st.pages)+1)
	st.pages[token] = body[objs[n][0]:objs[len(objs)-1][1]]
	st.mu.Unlock()
	out := body[:objs[0][0]] + "<token>" + token + "</token>" + body[objs[0][0]:objs[n][0]] +
		body[objs[len(objs)-1][1]:]
	rec.Body = bytes.NewBufferString(out)
	rec.Header().Del("Content-Length")
	copyResponse(w, rec)
}

func (st *simState) continuePage(w http.ResponseWriter, body []byte) bool {
	m := tokenRe.FindSubmatch(body)
	if m == nil {
		return false
	}
	st.mu.Lock()
	rest, ok := st.pages[string(m[1])]
	delete(st.pages, string(m[1]))
	st.mu.Unlock()
	if !ok {
		return false
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" `+
		`xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`+
		`<soapenv:Body><ContinueRetrievePropertiesExResponse xmlns="urn:vim25"><returnval>%s`+
		`</returnval></ContinueRetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>`, rest)
	return true
}
