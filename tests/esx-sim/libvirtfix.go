package main

// libvirt's ESX driver decodes every item of an ArrayOfX property value
// as an "AnyType" and needs an xsi:type attribute on it; the simulator
// sends <ManagedObjectReference type="HostSystem">host-21</...> without
// one (real hosts send it).  This reverse proxy adds xsi:type to the
// items of every ArrayOfX <val> that lacks it, and nothing else, so
// libvirt can be measured and compared against the same simulator.

import (
	"bytes"
	"crypto/tls"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
)

const xsiNS = "http://www.w3.org/2001/XMLSchema-instance"

var primitive = map[string]string{
	"String": "xsd:string", "Int": "xsd:int", "Long": "xsd:long", "Short": "xsd:short",
	"Byte": "xsd:byte", "Boolean": "xsd:boolean", "Float": "xsd:float", "Double": "xsd:double",
	"DateTime": "xsd:dateTime", "AnyURI": "xsd:anyURI", "Base64Binary": "xsd:base64Binary",
}

// addItemTypes returns body with xsi:type added to array items.
func addItemTypes(body []byte) []byte {
	dec := xml.NewDecoder(bytes.NewReader(body))
	type frame struct {
		itemType string // set on an ArrayOfX <val>
	}
	var stack []frame
	var inserts []struct {
		at   int
		text string
	}
	for {
		tok, err := dec.RawToken()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			end := int(dec.InputOffset())
			f := frame{}
			typed := ""
			for _, a := range t.Attr {
				if a.Name.Local == "type" && a.Name.Space != "" {
					typed = a.Value
				}
			}
			if len(stack) > 0 && stack[len(stack)-1].itemType != "" && typed == "" {
				// an item of an array without xsi:type: insert before '>' or '/>'
				at := end - 1
				if at > 0 && body[at-1] == '/' {
					at--
				}
				it := stack[len(stack)-1].itemType
				inserts = append(inserts, struct {
					at   int
					text string
				}{at, ` xmlns:xsi="` + xsiNS + `" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xsi:type="` + it + `"`})
			}
			if t.Name.Local == "val" && strings.HasPrefix(localType(typed), "ArrayOf") {
				name := strings.TrimPrefix(localType(typed), "ArrayOf")
				if p, ok := primitive[name]; ok {
					f.itemType = p
				} else {
					f.itemType = name
				}
			}
			stack = append(stack, f) // RawToken expands <x/> into start and end too
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if len(inserts) == 0 {
		return body
	}
	var out bytes.Buffer
	prev := 0
	for _, in := range inserts {
		out.Write(body[prev:in.at])
		out.WriteString(in.text)
		prev = in.at
	}
	out.Write(body[prev:])
	return out.Bytes()
}

func localType(qname string) string {
	if i := strings.IndexByte(qname, ':'); i >= 0 {
		return qname[i+1:]
	}
	return qname
}

// startLibvirtProxy serves target through the fix on another port.
func startLibvirtProxy(target *url.URL, useTLS bool) (string, func(), error) {
	base := &url.URL{Scheme: target.Scheme, Host: target.Host}
	proxy := httputil.NewSingleHostReverseProxy(base)
	proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	proxy.ModifyResponse = func(res *http.Response) error {
		if !strings.Contains(res.Header.Get("Content-Type"), "xml") {
			return nil
		}
		body, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if err != nil {
			return err
		}
		body = addItemTypes(body)
		res.Body = io.NopCloser(bytes.NewReader(body))
		res.ContentLength = int64(len(body))
		res.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: proxy}
	go func() { _ = srv.Serve(l) }()
	u := url.URL{Scheme: "http", Host: l.Addr().String(), Path: target.Path}
	_ = useTLS // libvirt reaches the proxy over plain http (transport=http)
	return u.String(), func() { _ = srv.Close() }, nil
}
