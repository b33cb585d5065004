"""Models and label maps shipped with edgecv (installed as ``edgecv.models``); see README.md here."""
