// Package greeting is the example app's one dependency, vendored so that the app builds with no network.
package greeting

// Hello is the page's text.
func Hello(language string) string {
	return "Hello from Slipway! (" + language + ")"
}
