// The example Go app: answers every request with a greeting from its one dependency, vendored in vendor/.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"example.com/greeting"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "5000"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, greeting.Hello("Go"))
	})
	log.Printf("listening on 0.0.0.0:%s", port)
	log.Fatal(http.ListenAndServe("0.0.0.0:"+port, nil))
}
