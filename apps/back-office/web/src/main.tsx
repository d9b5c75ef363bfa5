import { StrictMode, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { api, ApiError, loadSession, saveSession, type Session } from './api';
import { CustomerPage } from './customer';
import { InvoicePage } from './invoice';
import { OpsPage } from './ops';
import { ProductsPage } from './products';
import { Columns, errorText } from './ui';
import './styles.css';

/** Hash routes: #/search, #/customers/<id>, #/invoices/<id>, #/products, #/ops. */
function useRoute(): string[] {
  const read = () => (window.location.hash.replace(/^#\/?/, '') || 'search').split('/');
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function Login({ onLogin }: { onLogin: (s: Session) => void }): ReactNode {
  const [token, setToken] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const session = { token: token.trim(), reason: reason.trim() };
    try {
      // Any staff token passes; a customer's or a system's is refused (403), a bad one 401.
      await api(session, 'GET', '/api/staff/stream-kinds');
      saveSession(session);
      onLogin(session);
    } catch (e) {
      setError(e instanceof ApiError && (e.status === 401 || e.status === 403) ? 'This is not a valid staff token.' : String(e instanceof Error ? e.message : e));
    }
  };
  return (
    <main className="login">
      <h1>Back office sign-in</h1>
      <p>Sign in with the staff token your identity provider issued (the same token the staff CLIs use). It is kept in this tab only.</p>
      <form onSubmit={submit}>
        <label htmlFor="token">Staff token</label>
        <textarea id="token" name="token" rows={4} value={token} onChange={(e) => setToken(e.target.value)} required />
        <label htmlFor="reason">Reason for access (ticket or call), written to the audit log</label>
        <input id="reason" name="reason" value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={500} />
        <button type="submit">Sign in</button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </main>
  );
}

interface Hit {
  id: string;
  customer_name: string | null;
  customer_type: string;
  status: string;
  cpr: string | null;
  cvr: string | null;
  gsrns: string[];
}

function SearchPage({ session }: { session: Session }): ReactNode {
  const [query, setQuery] = useState('');
  const [result, setResult] = useState<{ kind: string; customers: Hit[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      setResult(await api<{ kind: string; customers: Hit[] }>(session, 'POST', '/api/staff/customers/search', { query }));
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <>
      <h1>Find a customer</h1>
      <form onSubmit={submit} className="inline">
        <label htmlFor="query">Name, GSRN, invoice number, CPR or CVR</label>
        <input id="query" name="query" value={query} onChange={(e) => setQuery(e.target.value)} minLength={2} required />
        <button type="submit">Search</button>
      </form>
      <p className="hint">A CPR search is written to the audit log with your reason, like every search.</p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {result && (
        <section aria-label="Search results">
          <h2>
            {result.customers.length} customer{result.customers.length === 1 ? '' : 's'} found by {result.kind}
          </h2>
          <table>
            <Columns names={['Name', 'Type', 'Status', 'CPR/CVR', 'Metering points']} />
            <tbody>
              {result.customers.map((c) => (
                <tr key={c.id}>
                  <td>
                    <a href={`#/customers/${c.id}`}>{c.customer_name ?? '(no name: forced-switch placeholder or erased)'}</a>
                  </td>
                  <td>{c.customer_type}</td>
                  <td>{c.status}</td>
                  <td>{c.cpr ?? c.cvr ?? '–'}</td>
                  <td>{c.gsrns.join(', ') || '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </>
  );
}

function App(): ReactNode {
  const [session, setSession] = useState<Session | null>(loadSession);
  const route = useRoute();
  if (!session) return <Login onLogin={setSession} />;
  const [page, id] = route;
  const link = (href: string, label: string, current: boolean) => (
    <a href={href} aria-current={current ? 'page' : undefined}>
      {label}
    </a>
  );
  let body: ReactNode;
  if (page === 'customers' && id) body = <CustomerPage session={session} customerId={id} />;
  else if (page === 'invoices' && id) body = <InvoicePage session={session} invoiceId={id} />;
  else if (page === 'products') body = <ProductsPage session={session} />;
  else if (page === 'ops') body = <OpsPage session={session} />;
  else body = <SearchPage session={session} />;
  return (
    <>
      <header>
        <span className="brand">Back office</span>
        <nav aria-label="Main">
          {link('#/search', 'Customers', page === 'search' || page === 'customers' || page === 'invoices')}
          {link('#/products', 'Rates and products', page === 'products')}
          {link('#/ops', 'Operations', page === 'ops')}
        </nav>
        <span className="reason">Reason: {session.reason}</span>
        <button
          type="button"
          onClick={() => {
            saveSession(null);
            setSession(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main>{body}</main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
