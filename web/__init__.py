"""The investigator workspace: a static page (HTML, CSS, ES modules) served by `api.ui` at
`/ui/`. A Python package only so that its files install with the project as package data."""
