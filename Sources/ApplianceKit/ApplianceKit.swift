// ApplianceKit module: see DESIGN.md §1.
