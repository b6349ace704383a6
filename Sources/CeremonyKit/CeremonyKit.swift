// CeremonyKit module: see DESIGN.md §1.
