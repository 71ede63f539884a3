"""Organisation: regions (GB/T 2260), departments, service halls and their windows."""
