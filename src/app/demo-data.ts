/**
 * The demo organisation `npm start` loads: a few hundred people across
 * departments with a management chain, contractors with contract ends and
 * sponsors, service accounts, integrations and AI agents with owners and
 * credentials (some stale or expired). Deterministic for a given "today", and
 * dated relative to it so the demo always has joiners and leavers coming up.
 * The files go through the same import as real ones.
 */
import { seededRandom } from '../connectors/chaos/chaos-connector.ts';
import { addDays } from '../engine/org-calendar.ts';

const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Katherine', 'Margaret', 'Tim', 'Barbara', 'Dennis', 'Frances', 'Ken', 'Radia', 'Edsger', 'Hedy', 'John', 'Sophie', 'Guido', 'Anita', 'Niklaus', 'Shafi', 'Yukihiro', 'Leslie', 'Donald', 'Jean', 'Carol', 'Vint', 'Mary', 'Bjarne', 'Karen', 'Whitfield'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Johnson', 'Hamilton', 'Berners-Lee', 'Liskov', 'Ritchie', 'Allen', 'Thompson', 'Perlman', 'Dijkstra', 'Lamarr', 'McCarthy', 'Wilson', 'van Rossum', 'Borg', 'Wirth', 'Goldwasser', 'Matsumoto', 'Lamport', 'Knuth', 'Bartik', 'Shaw', 'Cerf', 'Keller', 'Stroustrup', 'Spärck Jones', 'Diffie'];
const LOCATIONS = ['Berlin', 'London', 'Paris', 'New York', 'Remote'];

/** Department, head's key, head's title, share of the staff, titles. */
const DEPARTMENTS: readonly [string, string, string, number, readonly string[]][] = [
  ['IT', 'E1001', 'Head of IT', 0.07, ['Systems Administrator', 'IT Support Specialist', 'Network Engineer']],
  ['Engineering', 'E1002', 'VP Engineering', 0.34, ['Software Engineer', 'Senior Software Engineer', 'Engineering Intern', 'Site Reliability Engineer']],
  ['Finance', 'E1003', 'Finance Controller', 0.08, ['Accountant', 'Financial Analyst', 'Payroll Specialist']],
  ['Sales', 'E1004', 'Head of Sales', 0.16, ['Account Executive', 'Sales Development Rep']],
  ['Marketing', 'E1005', 'Head of Marketing', 0.1, ['Content Marketer', 'Designer']],
  ['Support', 'E1006', 'Head of Support', 0.15, ['Support Engineer', 'Support Lead']],
  ['People', 'E1007', 'Head of People', 0.05, ['HR Partner', 'Recruiter']],
  ['Research', 'E1008', 'Head of Research', 0.05, ['Research Scientist', 'Data Scientist']],
];

export interface DemoFiles {
  readonly 'hr.csv': string;
  readonly 'vendor.csv': string;
  readonly 'nhi.yaml': string;
  /** Equipment per person: a laptop each, phones, hardware tokens for IT and heads (src/app/asset-register.ts). */
  readonly 'assets.csv': string;
}

/** The demo's source files for an organisation whose "today" is `today` (YYYY-MM-DD). */
export function demoFiles(today: string, people = 300): DemoFiles {
  const random = seededRandom(20261122);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const rows: string[] = ['employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status'];
  const used = new Set<string>();
  const staff: { id: string; department: string; start: string; end: string; location: string }[] = [];
  const person = (id: string, department: string, title: string, manager: string, start: string, end = '', status = 'active', type = 'Full-time') => {
    let first = pick(FIRST);
    let last = pick(LAST);
    while (used.has(`${first} ${last}`)) [first, last] = [pick(FIRST), `${pick(LAST)}`];
    if (used.has(`${first} ${last}`)) last = `${last}-${id.slice(-3)}`;
    used.add(`${first} ${last}`);
    const email = `${first}.${last}`.toLowerCase().replace(/[^a-z.-]/g, '') + '@example.com';
    const location = pick(LOCATIONS);
    rows.push([id, first, last, email, department, `"${title}"`, manager, location, type, start, end, status].join(','));
    staff.push({ id, department, start, end, location });
  };
  person('E1000', 'Executive', 'Chief Executive Officer', '', addDays(today, -2900));
  for (const [department, head, title] of DEPARTMENTS) person(head, department, title, 'E1000', addDays(today, -2000 - Math.floor(random() * 600)));
  let n = 1009;
  for (const [department, head, , share, titles] of DEPARTMENTS) {
    const count = Math.round((people - 9) * share);
    for (let i = 0; i < count; i++) {
      const id = `E${n++}`;
      const roll = random();
      if (roll < 0.03) person(id, department, pick(titles), head, addDays(today, 3 + Math.floor(random() * 25)));
      else if (roll < 0.05) person(id, department, pick(titles), head, addDays(today, -900), addDays(today, 1 + Math.floor(random() * 20)), 'terminated');
      else if (roll < 0.065) person(id, department, pick(titles), head, addDays(today, -1500), addDays(today, -30 - Math.floor(random() * 300)), 'terminated');
      else if (roll < 0.08) person(id, department, pick(titles), head, addDays(today, -400), '', 'active', 'Part-time');
      else person(id, department, pick(titles), head, addDays(today, -30 - Math.floor(random() * 2500)));
    }
  }

  const vendor: string[] = ['contractor_id,first_name,last_name,email,company,sponsor_id,start_date,contract_end,status'];
  const companies = ['Acme Consulting', 'Globex', 'Initech', 'Umbrella Staffing', 'Hooli Services'];
  for (let i = 0; i < Math.max(10, Math.round(people / 8)); i++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const id = `C${2001 + i}`;
    const end = i < 3 ? addDays(today, 2 + i * 3) : addDays(today, 20 + Math.floor(random() * 200));
    vendor.push([id, first, last, `${first}.${last}.ext${i}`.toLowerCase().replace(/[^a-z0-9.-]/g, '') + '@contractors.example.com', pick(companies), pick(['E1001', 'E1002', 'E1004', 'E1006']), addDays(today, -10 - Math.floor(random() * 300)), end, 'active'].join(','));
  }

  const nhi = `# Non-human identities: service accounts, integrations and AI agents, each with a human owner.
- key: svc-backup
  kind: service_account
  name: Nightly backup runner
  owner: E1001
  systems: [directory]
  credentials:
    - { system: directory, kind: password, name: bind, created: ${addDays(today, -700)}, last_rotated: ${addDays(today, -400)} }
- key: svc-ci-deploy
  kind: service_account
  name: CI deploy bot
  owner: E1002
  systems: [github]
  credentials:
    - { system: github, kind: api_key, name: deploy-key, created: ${addDays(today, -200)}, last_rotated: ${addDays(today, -20)}, expires: ${addDays(today, 160)} }
- key: int-crm-sync
  kind: integration
  name: CRM to ledger sync
  owner: E1003
  systems: [finance-ledger]
  credentials:
    - { system: finance-ledger, kind: token, name: sync-token, created: ${addDays(today, -500)}, expires: ${addDays(today, -5)} }
- key: int-hr-feed
  kind: integration
  name: HR export feed
  owner: E1007
  systems: [directory]
  credentials:
    - { system: directory, kind: certificate, name: feed-client-cert, created: ${addDays(today, -300)}, expires: ${addDays(today, 65)} }
- key: agent-triage
  kind: ai_agent
  name: Support ticket triage agent
  owner: E1006
  systems: [github]
  credentials:
    - { system: github, kind: token, name: triage-agent-token, created: ${addDays(today, -45)}, expires: ${addDays(today, 45)} }
- key: agent-code-review
  kind: ai_agent
  name: Code review assistant
  owner: E1002
  systems: [github]
  credentials:
    - { system: github, kind: api_key, name: review-bot-key, created: ${addDays(today, -380)} }
`;
  return { 'hr.csv': rows.join('\n') + '\n', 'vendor.csv': vendor.join('\n') + '\n', 'nhi.yaml': nhi, 'assets.csv': demoAssets(staff, today) };
}

/** No random draws here: the people above stay the same whatever equipment they get. */
function demoAssets(staff: readonly { id: string; department: string; start: string; end: string; location: string }[], today: string): string {
  const lines = ['tag,serial,kind,description,holder,location,status'];
  const pad = (n: number) => String(n).padStart(4, '0');
  staff.forEach((p, i) => {
    // Joiners get theirs on day one; people who already left returned theirs back then.
    if (p.start > today || (p.end !== '' && p.end < today)) return;
    lines.push(`LAP-${pad(i + 1)},SN-L${pad(i * 7 + 1000)},laptop,${i % 3 === 0 ? 'MacBook Pro 14' : 'ThinkPad T14'},${p.id},${p.location},assigned`);
    if (i % 2 === 0) lines.push(`PHN-${pad(i + 1)},SN-P${pad(i * 11 + 2000)},phone,${i % 4 === 0 ? 'iPhone 15' : 'Pixel 8'},${p.id},${p.location},assigned`);
    if (p.department === 'IT' || p.department === 'Executive' || i < 9) lines.push(`TOK-${pad(i + 1)},SN-T${pad(i + 3000)},token,YubiKey 5 NFC,${p.id},${p.location},assigned`);
  });
  for (let i = 1; i <= 5; i++) lines.push(`LAP-S${pad(i)},SN-S${pad(i)},laptop,ThinkPad T14 (spare),,Berlin,in_stock`);
  return lines.join('\n') + '\n';
}
