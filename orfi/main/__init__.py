"""The home page, which sends each role to where its work starts."""
