"""The pytest face of the suite: options, the session lifecycle, why a test failed, and the files a
run writes when it ends."""
