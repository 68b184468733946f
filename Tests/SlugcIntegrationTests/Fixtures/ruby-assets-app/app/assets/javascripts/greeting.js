function greeting() { return "Hello from the asset pipeline"; }
