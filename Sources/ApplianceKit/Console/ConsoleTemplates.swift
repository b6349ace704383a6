import Mustache

/// The console's pages as Mustache templates (swift-mustache: `{{x}}` is HTML-escaped, which is
/// how every value from outside — CSR subjects, host names, reasons, audit details — reaches a
/// page; `{{{x}}}` is used only for the SVG charts `ConsoleCharts` builds from numbers). No page
/// has a script or an inline style; forms work without JavaScript.
enum ConsoleTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in all {
            // The templates are constants of this file; a parse error is a programming error caught by the tests.
            try! library.register(text, named: name)
        }
        return library
    }()

    static func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
    }

    static let all: [(String, String)] = [
        ("header", header), ("footer", footer), ("overview", overview), ("pending", pending), ("confirm", confirm),
        ("certificates", certificates), ("certificate", certificate), ("timeline", timeline), ("audit", audit), ("error", error),
    ]

    static let header = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Rootkeeper console</title>
        <meta name="csrf" content="{{csrf}}">
        <link rel="stylesheet" href="/console.css">
        <link rel="icon" href="/favicon.svg" type="image/svg+xml">
        </head>
        <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
        <p class="brand">Rootkeeper console</p>
        <nav aria-label="Sections"><ul>
        {{#nav}}<li><a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a></li>{{/nav}}
        </ul></nav>
        <p class="who">Signed in as <strong>{{admin}}</strong> ({{role}})</p>
        </header>
        <main id="main">
        <h1>{{title}}</h1>
        {{#flash}}<p class="flash" role="status">{{flash}}</p>{{/flash}}

        """

    static let footer = """
        </main>
        <footer><p>Every action here is recorded in the audit journal with your administrator name and address.</p></footer>
        </body>
        </html>

        """

    static let overview = """
        {{> header}}
        <section aria-labelledby="h-counts">
        <h2 id="h-counts">Certificates</h2>
        <ul class="tiles">
        {{#tiles}}<li class="tile"><span class="label">{{label}}</span> <strong class="value">{{value}}</strong></li>{{/tiles}}
        </ul>
        </section>
        <section aria-labelledby="h-activity">
        <h2 id="h-activity">Issued and revoked per day, last 30 days</h2>
        {{{activityChart}}}
        </section>
        <section aria-labelledby="h-age">
        <h2 id="h-age">Age of active certificates</h2>
        <table><thead><tr><th scope="col">Age</th><th scope="col">Certificates</th></tr></thead>
        <tbody>{{#ages}}<tr><td>{{label}}</td><td>{{count}}</td></tr>{{/ages}}</tbody></table>
        </section>
        <section aria-labelledby="h-issuers">
        <h2 id="h-issuers">Issuers</h2>
        <table><thead><tr><th scope="col">Issuer</th><th scope="col">State</th><th scope="col">CRL number</th><th scope="col">CRL issued</th><th scope="col">Next update</th></tr></thead>
        <tbody>{{#issuers}}<tr><td>{{subject}}<br><span class="mono">{{ski}}</span></td><td>{{state}}</td><td>{{crlNumber}}</td><td>{{thisUpdate}}</td><td>{{nextUpdate}}</td></tr>{{/issuers}}</tbody></table>
        </section>
        <section aria-labelledby="h-service">
        <h2 id="h-service">Service</h2>
        <dl class="fields">
        <dt>Health</dt><dd>{{health}}</dd>
        <dt>Signing key</dt><dd>{{signingKey}}</dd>
        <dt>OCSP responses (since start)</dt><dd>{{ocsp}}</dd>
        <dt>Renewals (last 24 h)</dt><dd>{{renewals}}</dd>
        </dl>
        </section>
        <section aria-labelledby="h-failures">
        <h2 id="h-failures">Client certificate refusals by reason (last 24 h)</h2>
        {{#hasFailures}}<table><thead><tr><th scope="col">Reason</th><th scope="col">Refusals</th></tr></thead>
        <tbody>{{#failures}}<tr><td>{{reason}}</td><td>{{count}}</td></tr>{{/failures}}</tbody></table>{{/hasFailures}}
        {{^failures}}<p>None.</p>{{/failures}}
        </section>
        {{> footer}}
        """

    static let pending = """
        {{> header}}
        {{^rows}}<p>No registration is waiting for approval.</p>{{/rows}}
        {{#hasRows}}
        <table>
        <caption>Registrations waiting for an administrator</caption>
        <thead><tr><th scope="col">Host name</th><th scope="col">Agent ID</th><th scope="col">Key</th><th scope="col">SPKI SHA-256</th><th scope="col">Source</th><th scope="col">Age</th><th scope="col">Organisation in CSR</th>{{#canApprove}}<th scope="col">Decide</th>{{/canApprove}}</tr></thead>
        <tbody>
        {{#rows}}<tr><td>{{hostname}}</td><td class="mono">{{agentID}}</td><td>{{key}}</td><td class="mono">{{spki}}</td><td>{{source}}</td><td>{{age}}</td><td>{{organization}}</td>
        {{#canApprove}}<td>{{#open}}<a class="button" href="/pending/{{id}}/approve">Approve {{hostname}}…</a> <a class="button danger" href="/pending/{{id}}/reject">Reject {{hostname}}…</a>{{/open}}{{^open}}{{state}}{{/open}}</td>{{/canApprove}}</tr>
        {{/rows}}
        </tbody></table>
        {{/hasRows}}
        {{^canApprove}}<p class="note">Your role ({{role}}) can look but not approve or reject.</p>{{/canApprove}}
        {{> footer}}
        """

    static let confirm = """
        {{> header}}
        <p>{{question}}</p>
        <dl class="fields">{{#facts}}<dt>{{name}}</dt><dd>{{value}}</dd>{{/facts}}</dl>
        <form method="post" action="{{action}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#askReason}}<p><label for="reason">Reason (shown to the agent and recorded)</label><br>
        <textarea id="reason" name="reason" rows="3" cols="60" required maxlength="500"></textarea></p>{{/askReason}}
        <p><button type="submit" class="{{buttonClass}}">{{button}}</button> <a href="{{cancel}}">Cancel</a></p>
        </form>
        {{> footer}}
        """

    static let certificates = """
        {{> header}}
        <form method="get" action="/certificates" class="filters">
        <p><label for="q">Search (serial, subject, agent ID)</label><br><input id="q" name="q" type="search" value="{{q}}"></p>
        <p><label for="status">Status</label><br><select id="status" name="status">{{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statuses}}</select></p>
        <p><label for="type">Type</label><br><select id="type" name="type">{{#types}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/types}}</select></p>
        <p><label for="issuer">Issuer</label><br><select id="issuer" name="issuer">{{#issuerOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/issuerOptions}}</select></p>
        <p><label for="before">Expiring before (YYYY-MM-DD)</label><br><input id="before" name="before" value="{{before}}" pattern="[0-9]{4}-[0-9]{2}-[0-9]{2}"></p>
        <p><button type="submit">Filter</button></p>
        </form>
        <p>{{count}} certificates{{#truncated}} (first {{shown}} shown){{/truncated}}.</p>
        <table>
        <thead><tr><th scope="col">Serial</th><th scope="col">Type</th><th scope="col">Subject</th><th scope="col">Status</th><th scope="col">Expires</th></tr></thead>
        <tbody>{{#rows}}<tr><td class="mono"><a href="/certificates/{{serial}}">{{serial}}</a></td><td>{{type}}</td><td>{{subject}}</td><td>{{status}}</td><td>{{notAfter}}</td></tr>{{/rows}}</tbody>
        </table>
        {{> footer}}
        """

    static let certificate = """
        {{> header}}
        <dl class="fields">{{#fields}}<dt>{{name}}</dt><dd>{{value}}</dd>{{/fields}}</dl>
        <p><a class="button" href="/certificates/{{serial}}/pem" download>Download PEM</a></p>
        <h2>Renewal lineage</h2>
        <ol>{{#lineage}}<li><a href="/certificates/{{serial}}" class="mono">{{serial}}</a> {{status}} until {{notAfter}}{{#this}} (this certificate){{/this}}</li>{{/lineage}}</ol>
        {{#canRevoke}}
        <h2>Revoke</h2>
        <form method="post" action="/certificates/{{serial}}/revoke">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="reason">Reason (RFC 5280)</label><br><select id="reason" name="reason">{{#reasons}}<option value="{{.}}">{{.}}</option>{{/reasons}}</select></p>
        <p><label for="confirm">Type the serial number <span class="mono">{{serial}}</span> to confirm</label><br>
        <input id="confirm" name="confirm" required autocomplete="off" class="mono" size="44"></p>
        <p><button type="submit" class="danger">Revoke certificate</button></p>
        </form>
        {{/canRevoke}}
        {{> footer}}
        """

    static let timeline = """
        {{> header}}
        <p>Active certificates by the week in which they expire. Each bar links to the list of certificates expiring by the end of that week.</p>
        {{{chart}}}
        <table><thead><tr><th scope="col">Week starting</th><th scope="col">Expiring</th></tr></thead>
        <tbody>{{#weeks}}<tr><td><a href="{{link}}">{{start}}</a></td><td>{{count}}</td></tr>{{/weeks}}</tbody></table>
        {{> footer}}
        """

    static let audit = """
        {{> header}}
        <p class="{{chainClass}}">Audit chain: {{chain}}</p>
        <form method="get" action="/audit" class="filters">
        <p><label for="q">Filter (actor, action, subject)</label><br><input id="q" name="q" type="search" value="{{q}}"></p>
        <p><button type="submit">Filter</button></p>
        </form>
        <table>
        <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Subject</th><th scope="col">Details</th></tr></thead>
        <tbody>{{#rows}}<tr><td>{{seq}}</td><td>{{time}}</td><td>{{actor}}</td><td>{{action}}</td><td class="mono">{{subject}}</td><td class="mono">{{details}}</td></tr>{{/rows}}</tbody>
        </table>
        {{> footer}}
        """

    static let error = """
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><title>{{status}} · Rootkeeper console</title><link rel="stylesheet" href="/console.css"></head>
        <body><main id="main"><h1>{{status}}</h1><p>{{message}}</p><p><a href="/">Back to the overview</a></p></main></body>
        </html>

        """

    static let favicon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0b2545"/>        <path d="M5 12V4h4a2 2 0 0 1 0 4H5m4 0 2 4" stroke="#fff" stroke-width="1.6" fill="none"/></svg>

        """

    static let stylesheet = """
        :root { color-scheme: light; }
        body { font-family: system-ui, sans-serif; margin: 0; color: #111; background: #fff; line-height: 1.4; }
        .skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px; }
        header.top { background: #0b2545; color: #fff; padding: 8px 16px; display: flex; flex-wrap: wrap; align-items: center; gap: 16px; }
        header.top a { color: #fff; } .brand { font-weight: bold; margin: 0; } .who { margin: 0 0 0 auto; }
        nav ul { list-style: none; display: flex; gap: 12px; margin: 0; padding: 0; }
        nav a[aria-current="page"] { font-weight: bold; text-decoration: underline; }
        main { padding: 8px 16px 24px; max-width: 1200px; }
        a { color: #0645ad; } a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #f59e0b; outline-offset: 1px; }
        table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 0.9rem; }
        th, td { border-bottom: 1px solid #ccc; padding: 4px 6px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
        th { overflow-wrap: normal; white-space: nowrap; }
        caption { text-align: left; font-weight: bold; }
        .mono { font-family: ui-monospace, monospace; font-size: 0.85rem; }
        .tiles { display: flex; flex-wrap: wrap; gap: 8px; list-style: none; padding: 0; }
        .tile { border: 1px solid #999; padding: 6px 12px; min-width: 120px; }
        .tile .label { display: block; font-size: 0.85rem; } .tile .value { display: block; font-size: 1.5rem; }
        .fields { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; } .fields dd { margin: 0; overflow-wrap: anywhere; }
        .button, button { display: inline-block; background: #1d4ed8; color: #fff; border: 0; padding: 6px 12px; text-decoration: none; font: inherit; cursor: pointer; }
        .danger { background: #b91c1c; color: #fff; }
        .filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-end; }
        .flash { background: #e6f4ea; border: 1px solid #1e7e34; padding: 6px 10px; }
        .broken { background: #fde8e8; border: 1px solid #b91c1c; padding: 6px 10px; } .intact { background: #e6f4ea; border: 1px solid #1e7e34; padding: 6px 10px; }
        .note { color: #333; }
        .chart .grid { stroke: #ddd; } .chart .axis { font-size: 11px; fill: #333; }
        .chart .issued { fill: #1d4ed8; } .chart .revoked { fill: #b91c1c; } .chart .expiring { fill: #b45309; }
        footer { padding: 8px 16px; color: #333; font-size: 0.85rem; border-top: 1px solid #ccc; }

        """
}
