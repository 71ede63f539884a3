"""The data hub (数据中台): base registries, the data dictionary, the sharing catalog and
agreements, consent, and the access log of every read of personal data."""
