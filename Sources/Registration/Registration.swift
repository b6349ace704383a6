// Registration module: see DESIGN.md §1.
