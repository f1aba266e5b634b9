// Sign-in: username and password, posted with this browser's device id (POST /v1/login).

import {deviceId, signIn, signOut, ApiError} from '../api.js';
import {h} from '../dom.js';
import {t} from '../i18n.js';
import {errorText} from '../ui.js';

const DASHBOARD_ROLES = ['supervisor', 'admin'];

// notice: a message key shown above the form ("login.signedOut", "error.unauthenticated").
export function render(notice, onSignedIn) {
  const message = h('p', {id: 'login-message', class: notice ? 'notice' : 'notice hidden', role: 'alert'},
                    notice ? t(notice) : '');
  const username = h('input', {id: 'username', name: 'username', autocomplete: 'username', required: true,
                               autocapitalize: 'none', spellcheck: 'false'});
  const password = h('input', {id: 'password', name: 'password', type: 'password',
                               autocomplete: 'current-password', required: true});
  const submit = h('button', {type: 'submit', id: 'sign-in'}, t('login.submit'));
  const form = h('form', {class: 'login-form', 'aria-labelledby': 'page-title', novalidate: false},
                 h('div', {class: 'field'}, h('label', {for: 'username'}, t('login.username')), username),
                 h('div', {class: 'field'}, h('label', {for: 'password'}, t('login.password')), password),
                 submit);
  const show = (text) => {
    message.textContent = text;
    message.className = 'notice notice-error';
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    submit.textContent = t('login.busy');
    try {
      const s = await signIn(username.value.trim(), password.value);
      if (!DASHBOARD_ROLES.includes(s.role)) {
        signOut();
        show(t('login.notForRole', {role: t('role.' + s.role)}));
        return;
      }
      password.value = '';
      onSignedIn(s);
    } catch (error) {
      password.value = '';
      show(error instanceof ApiError && error.code === 'unauthenticated' ? t('login.wrong') : errorText(error));
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = t('login.submit');
    }
  });
  return h('div', {class: 'page page-login'},
           h('div', {class: 'login-box'},
             h('h1', {id: 'page-title', tabindex: '-1'}, t('login.title')),
             h('p', {class: 'lead'}, t('login.intro')),
             message,
             form,
             h('p', {class: 'small muted'}, t('login.device', {id: deviceId()}))));
}
