// SmartCard module: see DESIGN.md §1.
