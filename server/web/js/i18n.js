// Every string the dashboard shows, in Spanish and English, and the locale-aware formatting of
// dates and numbers. Spanish is the default when the browser's language is Spanish; the choice is
// remembered in localStorage.

const STRINGS = {
  es: {
    'app.name': 'Vínculo',
    'app.tagline': 'Panel de supervisión',
    'skip': 'Saltar al contenido',
    'nav.label': 'Secciones',
    'nav.overview': 'Resumen',
    'nav.visits': 'Visitas',
    'nav.caseload': 'Carga de casos',
    'nav.conflicts': 'Conflictos',
    'lang.label': 'Idioma',
    'session.signOut': 'Cerrar sesión',
    'session.who': '{user} · {role} · {region}',
    'session.allRegions': 'todas las regiones',
    'role.supervisor': 'supervisión',
    'role.admin': 'administración',
    'role.field_worker': 'trabajo de campo',
    'role.regional_office': 'oficina regional',
    'common.loading': 'Cargando…',
    'common.csv': 'Descargar CSV',
    'common.csvOf': 'Descargar CSV: {what}',
    'common.print': 'Imprimir',
    'common.apply': 'Aplicar',
    'common.from': 'Desde',
    'common.to': 'Hasta',
    'common.yes': 'Sí',
    'common.no': 'No',
    'common.none': '—',
    'common.empty': '(vacío)',
    'common.total': 'Total',
    'common.retry': 'Reintentar',
    'common.any': 'Todas',
    'common.rowCount': '{n} filas',
    'common.device': 'dispositivo\u00a0…{id}',
    'error.title': 'No se pudo cargar esta página',
    'error.network': 'No se pudo conectar con el servidor. Revise la conexión e intente de nuevo.',
    'error.unauthenticated': 'Su sesión terminó. Inicie sesión de nuevo.',
    'error.permission_denied': 'Su cuenta no tiene permiso para esto. El panel es para supervisión y administración.',
    'error.not_found': 'No se encontró: puede no existir o pertenecer a otra región.',
    'error.invalid_argument': 'Dato no válido ({field}): {message}',
    'error.failed_precondition': '{message}',
    'error.resource_exhausted': 'Demasiados intentos. Espere unos minutos e intente de nuevo.',
    'error.other': 'El servidor respondió con un error ({status}): {message}',
    'error.csv': 'No se pudo descargar el CSV: {message}',

    'login.title': 'Iniciar sesión',
    'login.intro': 'Ingrese con su usuario de Vínculo. Solo supervisión y administración pueden usar este panel.',
    'login.username': 'Usuario',
    'login.password': 'Contraseña',
    'login.submit': 'Entrar',
    'login.busy': 'Entrando…',
    'login.wrong': 'Usuario o contraseña incorrectos.',
    'login.signedOut': 'Cerró la sesión.',
    'login.device': 'Este navegador se identifica ante el servidor como el dispositivo {id}.',
    'login.notForRole': 'Su cuenta es de {role}: use la aplicación de campo. Este panel es para supervisión y administración.',

    'overview.title': 'Resumen',
    'overview.asOf': 'Al {date}',
    'overview.visitsMonth': 'Visitas este mes',
    'overview.visitsMonthNote': 'del {from} al {to}',
    'overview.openCases': 'Casos abiertos',
    'overview.overdueCount': 'Casos con visita atrasada',
    'overview.conflictsWaiting': 'Conflictos por revisar',
    'overview.reviewConflicts': 'Revisar conflictos',
    'overview.seeCaseload': 'Ver carga por trabajador',
    'overview.outcomes': 'Reintegración familiar, últimos 12 meses',
    'overview.outcomesDesc': 'Barras: niñas, niños y adolescentes que volvieron a su familia de origen o a su familia extensa cada mes. Línea: cuántos vivían en instituciones al final de cada mes.',
    'overview.outcomesSummary': 'Reintegraciones por mes de {from} a {to}: {total} en total. Población en instituciones al final del período: {population}.',
    'overview.outcomesTable': 'Ver las cifras',
    'overview.legendReintegrated': 'Reintegrados a su familia',
    'overview.legendPopulation': 'En instituciones (fin de mes)',
    'overview.overdue': 'Visitas atrasadas',
    'overview.overdueDesc': 'Casos abiertos con la próxima visita vencida, sin visita en {days} días, o nunca visitados.',
    'overview.noOverdue': 'No hay casos atrasados.',
    'overview.overdueShown': 'Se muestran {shown} de {total}; el CSV los tiene todos.',
    'overview.overdueMore': 'Cargar más casos',

    'outcomes.month': 'Mes',
    'outcomes.reintegrated': 'Reintegrados',
    'outcomes.familyCare': 'A cuidado familiar',
    'outcomes.entered': 'Ingresos a instituciones',
    'outcomes.left': 'Egresos de instituciones',
    'outcomes.population': 'En instituciones',

    'overdue.child': 'Niña/o',
    'overdue.worker': 'Responsable',
    'overdue.lastVisit': 'Última visita',
    'overdue.nextDue': 'Próxima visita',
    'overdue.reason': 'Atraso',
    'reason.past_due.one': 'Visita vencida hace 1 día',
    'reason.past_due.other': 'Visita vencida hace {n} días',
    'reason.no_visit_for_days.one': 'Sin visita hace 1 día',
    'reason.no_visit_for_days.other': 'Sin visita hace {n} días',
    'reason.never_visited': 'Nunca visitado',

    'child.title': 'Expediente',
    'child.audited': 'Esta consulta queda registrada en la auditoría del servidor.',
    'child.case': 'Datos del caso',
    'child.family': 'Familia',
    'child.noFamily': 'Sin familia registrada.',
    'child.contacts': 'Contactos',
    'child.noContacts': 'Sin contactos registrados.',
    'child.placements': 'Cambios de ubicación',
    'child.noPlacements': 'Sin cambios de ubicación registrados.',
    'child.visits': 'Historial de visitas',
    'child.noVisits': 'Sin visitas registradas.',
    'child.age': '{years} años',
    'child.open': 'Abrir expediente de {name}',
    'child.back': 'Volver',

    'conflicts.title': 'Conflictos por revisar',
    'conflicts.intro': 'Cuando dos dispositivos cambian el mismo dato sin haber visto el cambio del otro, se conserva el cambio más reciente y el otro valor se guarda aquí. Puede mantener el valor actual o restablecer el valor perdido; el cambio llega a los dispositivos en su próxima sincronización.',
    'conflicts.status': 'Mostrar',
    'conflicts.status.open': 'Por revisar',
    'conflicts.status.resolved': 'Resueltos',
    'conflicts.status.all': 'Todos',
    'conflicts.none': 'No hay conflictos por revisar.',
    'conflicts.noneResolved': 'No hay conflictos resueltos.',
    'conflicts.record': 'Registro',
    'conflicts.field': 'Dato',
    'conflicts.kept': 'Valor actual',
    'conflicts.lost': 'Valor perdido',
    'conflicts.written': 'Escrito {when}, {device}',
    'conflicts.detected': 'Detectado',
    'conflicts.action': 'Decisión',
    'conflicts.keep': 'Mantener',
    'conflicts.keepLabel': 'Mantener «{value}» en {field} de {record}',
    'conflicts.reinstate': 'Restablecer valor perdido',
    'conflicts.reinstateLabel': 'Restablecer «{value}» en {field} de {record}',
    'conflicts.doneKeep': 'Conflicto {id}: se mantuvo el valor actual de {field}.',
    'conflicts.doneReinstate': 'Conflicto {id}: se restableció «{value}» en {field}.',
    'conflicts.resolution.keep_winner': 'Se mantuvo el valor actual',
    'conflicts.resolution.reinstate_loser': 'Se restableció el valor perdido',
    'conflicts.resolvedBy': '{resolution} ({user}, {when})',
    'conflicts.deleted': '(registro eliminado)',
    'conflicts.count': '{n} por revisar',

    'caseload.title': 'Carga de casos por trabajador',
    'caseload.desc': 'Casos abiertos asignados, visitas realizadas en el período y casos con la próxima visita vencida al final del período.',
    'caseload.worker': 'Trabajador/a',
    'caseload.region': 'Región',
    'caseload.open': 'Casos abiertos',
    'caseload.visits': 'Visitas en el período',
    'caseload.overdue': 'Atrasados',
    'caseload.none': 'No hay casos ni visitas en este período.',
    'caseload.seeVisits': 'Ver visitas de {worker}',
    'caseload.unassigned': '(sin asignar)',

    'visits.title': 'Visitas',
    'visits.worker': 'Trabajador/a',
    'visits.kind': 'Tipo',
    'visits.date': 'Fecha',
    'visits.child': 'Niña/o',
    'visits.risk': 'Riesgo evaluado',
    'visits.nextDue': 'Próxima visita',
    'visits.observations': 'Observaciones',
    'visits.agreed': 'Acuerdos',
    'visits.attendees': 'Presentes',
    'visits.region': 'Región',
    'visits.none': 'No hay visitas con estos filtros.',
    'visits.more': 'Cargar más visitas',
    'visits.shown': '{n} visitas',
    'visits.shownMore': '{n} visitas (hay más)',

    'record.child': 'Niña/o',
    'record.family': 'Familia',
    'record.contact': 'Contacto',
    'record.home_visit': 'Visita',
    'record.placement': 'Cambio de ubicación',

    'field.given_name': 'Nombres',
    'field.family_name': 'Apellidos',
    'field.birth_date': 'Fecha de nacimiento',
    'field.sex': 'Sexo',
    'field.region': 'Región',
    'field.programme': 'Programa',
    'field.assigned_worker': 'Responsable',
    'field.placement': 'Ubicación actual',
    'field.status': 'Estado del caso',
    'field.risk_level': 'Nivel de riesgo',
    'field.family_id': 'Familia',
    'field.notes': 'Notas',
    'field.name': 'Nombre',
    'field.address': 'Dirección',
    'field.child_id': 'Niña/o',
    'field.relationship': 'Parentesco',
    'field.phone': 'Teléfono',
    'field.consent_to_contact': 'Acepta ser contactado/a',
    'field.worker': 'Trabajador/a',
    'field.visited_at': 'Fecha de visita',
    'field.kind': 'Tipo de visita',
    'field.attendees': 'Presentes',
    'field.observations': 'Observaciones',
    'field.risk_assessment': 'Riesgo evaluado',
    'field.agreed_actions': 'Acuerdos',
    'field.next_visit_due': 'Próxima visita',
    'field.latitude': 'Latitud',
    'field.longitude': 'Longitud',
    'field.from_placement': 'Ubicación anterior',
    'field.to_placement': 'Nueva ubicación',
    'field.changed_on': 'Fecha del cambio',
    'field.reason': 'Motivo',
    'field.deleted': 'Eliminado',

    'PLACEMENT_UNSPECIFIED': 'No registrada',
    'PLACEMENT_RESIDENTIAL_INSTITUTION': 'Institución residencial',
    'PLACEMENT_FOSTER_FAMILY': 'Familia acogedora',
    'PLACEMENT_KINSHIP_CARE': 'Familia extensa',
    'PLACEMENT_FAMILY_OF_ORIGIN': 'Familia de origen',
    'PLACEMENT_INDEPENDENT_LIVING': 'Vida independiente',
    'PLACEMENT_OTHER': 'Otra',
    'CASE_STATUS_UNSPECIFIED': 'No registrado',
    'CASE_STATUS_OPEN': 'Abierto',
    'CASE_STATUS_REINTEGRATED': 'Reintegrado',
    'CASE_STATUS_CLOSED': 'Cerrado',
    'RISK_LEVEL_UNSPECIFIED': 'No evaluado',
    'RISK_LEVEL_LOW': 'Bajo',
    'RISK_LEVEL_MEDIUM': 'Medio',
    'RISK_LEVEL_HIGH': 'Alto',
    'SEX_UNSPECIFIED': 'No registrado',
    'SEX_FEMALE': 'Femenino',
    'SEX_MALE': 'Masculino',
    'SEX_OTHER': 'Otro',
    'RELATIONSHIP_UNSPECIFIED': 'No registrado',
    'RELATIONSHIP_MOTHER': 'Madre',
    'RELATIONSHIP_FATHER': 'Padre',
    'RELATIONSHIP_GRANDPARENT': 'Abuela/o',
    'RELATIONSHIP_SIBLING': 'Hermana/o',
    'RELATIONSHIP_AUNT_UNCLE': 'Tía/o',
    'RELATIONSHIP_OTHER_RELATIVE': 'Otro familiar',
    'RELATIONSHIP_FOSTER_CARER': 'Familia acogedora',
    'RELATIONSHIP_NEIGHBOUR': 'Vecina/o',
    'RELATIONSHIP_OTHER': 'Otra relación',
    'VISIT_KIND_UNSPECIFIED': 'No registrado',
    'VISIT_KIND_ASSESSMENT': 'Evaluación',
    'VISIT_KIND_FOLLOW_UP': 'Seguimiento',
    'VISIT_KIND_REINTEGRATION_PREPARATION': 'Preparación de la reintegración',
    'VISIT_KIND_POST_REINTEGRATION_MONITORING': 'Seguimiento posreintegración',
    'VISIT_KIND_OTHER': 'Otra',
    'CONFLICT_KIND_UNSPECIFIED': 'Conflicto',
    'CONFLICT_KIND_CONCURRENT_WRITE': 'Cambios simultáneos',
    'CONFLICT_KIND_EDIT_OF_DELETED': 'Cambio de un registro eliminado',
    'CONFLICT_KIND_DELETE_OF_EDITED': 'Eliminación de un registro cambiado',
  },

  en: {
    'app.name': 'Vínculo',
    'app.tagline': 'Supervision dashboard',
    'skip': 'Skip to content',
    'nav.label': 'Sections',
    'nav.overview': 'Overview',
    'nav.visits': 'Visits',
    'nav.caseload': 'Caseload',
    'nav.conflicts': 'Conflicts',
    'lang.label': 'Language',
    'session.signOut': 'Sign out',
    'session.who': '{user} · {role} · {region}',
    'session.allRegions': 'all regions',
    'role.supervisor': 'supervisor',
    'role.admin': 'administrator',
    'role.field_worker': 'field worker',
    'role.regional_office': 'regional office',
    'common.loading': 'Loading…',
    'common.csv': 'Download CSV',
    'common.csvOf': 'Download CSV: {what}',
    'common.print': 'Print',
    'common.apply': 'Apply',
    'common.from': 'From',
    'common.to': 'To',
    'common.yes': 'Yes',
    'common.no': 'No',
    'common.none': '—',
    'common.empty': '(empty)',
    'common.total': 'Total',
    'common.retry': 'Try again',
    'common.any': 'All',
    'common.rowCount': '{n} rows',
    'common.device': 'device\u00a0…{id}',
    'error.title': 'This page could not be loaded',
    'error.network': 'Cannot reach the server. Check the connection and try again.',
    'error.unauthenticated': 'Your session has ended. Please sign in again.',
    'error.permission_denied': 'Your account may not do this. The dashboard is for supervisors and administrators.',
    'error.not_found': 'Not found: it may not exist or may belong to another region.',
    'error.invalid_argument': 'Invalid value ({field}): {message}',
    'error.failed_precondition': '{message}',
    'error.resource_exhausted': 'Too many attempts. Wait a few minutes and try again.',
    'error.other': 'The server answered with an error ({status}): {message}',
    'error.csv': 'The CSV could not be downloaded: {message}',

    'login.title': 'Sign in',
    'login.intro': 'Sign in with your Vínculo account. Only supervisors and administrators can use this dashboard.',
    'login.username': 'Username',
    'login.password': 'Password',
    'login.submit': 'Sign in',
    'login.busy': 'Signing in…',
    'login.wrong': 'Wrong username or password.',
    'login.signedOut': 'You have signed out.',
    'login.device': 'This browser identifies itself to the server as device {id}.',
    'login.notForRole': 'Your account is a {role} account: use the field app. This dashboard is for supervisors and administrators.',

    'overview.title': 'Overview',
    'overview.asOf': 'As of {date}',
    'overview.visitsMonth': 'Visits this month',
    'overview.visitsMonthNote': '{from} to {to}',
    'overview.openCases': 'Open cases',
    'overview.overdueCount': 'Cases with an overdue visit',
    'overview.conflictsWaiting': 'Conflicts to review',
    'overview.reviewConflicts': 'Review conflicts',
    'overview.seeCaseload': 'See caseload per worker',
    'overview.outcomes': 'Returns to family life, last 12 months',
    'overview.outcomesDesc': 'Bars: children who returned to their family of origin or to kinship care each month. Line: how many lived in residential institutions at the end of each month.',
    'overview.outcomesSummary': 'Children returned to family life per month from {from} to {to}: {total} in all. Children in institutions at the end of the period: {population}.',
    'overview.outcomesTable': 'Show the numbers',
    'overview.legendReintegrated': 'Returned to family',
    'overview.legendPopulation': 'In institutions (month end)',
    'overview.overdue': 'Overdue visits',
    'overview.overdueDesc': 'Open cases whose next visit is past due, with no visit in {days} days, or never visited.',
    'overview.noOverdue': 'No overdue cases.',
    'overview.overdueShown': 'Showing {shown} of {total}; the CSV has them all.',
    'overview.overdueMore': 'Load more cases',

    'outcomes.month': 'Month',
    'outcomes.reintegrated': 'Returned to family',
    'outcomes.familyCare': 'Placed in family care',
    'outcomes.entered': 'Entered institutions',
    'outcomes.left': 'Left institutions',
    'outcomes.population': 'In institutions',

    'overdue.child': 'Child',
    'overdue.worker': 'Worker',
    'overdue.lastVisit': 'Last visit',
    'overdue.nextDue': 'Next visit due',
    'overdue.reason': 'Overdue',
    'reason.past_due.one': 'Visit due 1 day ago',
    'reason.past_due.other': 'Visit due {n} days ago',
    'reason.no_visit_for_days.one': 'No visit for 1 day',
    'reason.no_visit_for_days.other': 'No visit for {n} days',
    'reason.never_visited': 'Never visited',

    'child.title': 'Case record',
    'child.audited': 'This read is recorded in the server’s audit log.',
    'child.case': 'Case',
    'child.family': 'Family',
    'child.noFamily': 'No household recorded.',
    'child.contacts': 'Contacts',
    'child.noContacts': 'No contacts recorded.',
    'child.placements': 'Placement changes',
    'child.noPlacements': 'No placement changes recorded.',
    'child.visits': 'Visit history',
    'child.noVisits': 'No visits recorded.',
    'child.age': '{years} years old',
    'child.open': 'Open the case record of {name}',
    'child.back': 'Back',

    'conflicts.title': 'Conflicts to review',
    'conflicts.intro': 'When two devices change the same value without having seen each other’s change, the later change is kept and the other value is saved here. Keep the current value or reinstate the lost one; devices get the change at their next sync.',
    'conflicts.status': 'Show',
    'conflicts.status.open': 'To review',
    'conflicts.status.resolved': 'Resolved',
    'conflicts.status.all': 'All',
    'conflicts.none': 'No conflicts to review.',
    'conflicts.noneResolved': 'No resolved conflicts.',
    'conflicts.record': 'Record',
    'conflicts.field': 'Field',
    'conflicts.kept': 'Current value',
    'conflicts.lost': 'Lost value',
    'conflicts.written': 'Written {when}, {device}',
    'conflicts.detected': 'Detected',
    'conflicts.action': 'Decision',
    'conflicts.keep': 'Keep',
    'conflicts.keepLabel': 'Keep “{value}” as {field} of {record}',
    'conflicts.reinstate': 'Reinstate lost value',
    'conflicts.reinstateLabel': 'Reinstate “{value}” as {field} of {record}',
    'conflicts.doneKeep': 'Conflict {id}: the current {field} was kept.',
    'conflicts.doneReinstate': 'Conflict {id}: “{value}” was reinstated as {field}.',
    'conflicts.resolution.keep_winner': 'Current value kept',
    'conflicts.resolution.reinstate_loser': 'Lost value reinstated',
    'conflicts.resolvedBy': '{resolution} ({user}, {when})',
    'conflicts.deleted': '(record deleted)',
    'conflicts.count': '{n} to review',

    'caseload.title': 'Caseload per worker',
    'caseload.desc': 'Open cases assigned, visits made in the period, and cases whose next visit was past due at the end of the period.',
    'caseload.worker': 'Worker',
    'caseload.region': 'Region',
    'caseload.open': 'Open cases',
    'caseload.visits': 'Visits in period',
    'caseload.overdue': 'Overdue',
    'caseload.none': 'No cases or visits in this period.',
    'caseload.seeVisits': 'See the visits of {worker}',
    'caseload.unassigned': '(unassigned)',

    'visits.title': 'Visits',
    'visits.worker': 'Worker',
    'visits.kind': 'Kind',
    'visits.date': 'Date',
    'visits.child': 'Child',
    'visits.risk': 'Risk assessed',
    'visits.nextDue': 'Next visit due',
    'visits.observations': 'Observations',
    'visits.agreed': 'Agreed actions',
    'visits.attendees': 'Present',
    'visits.region': 'Region',
    'visits.none': 'No visits match these filters.',
    'visits.more': 'Load more visits',
    'visits.shown': '{n} visits',
    'visits.shownMore': '{n} visits (more available)',

    'record.child': 'Child',
    'record.family': 'Family',
    'record.contact': 'Contact',
    'record.home_visit': 'Visit',
    'record.placement': 'Placement change',

    'field.given_name': 'Given names',
    'field.family_name': 'Family names',
    'field.birth_date': 'Date of birth',
    'field.sex': 'Sex',
    'field.region': 'Region',
    'field.programme': 'Programme',
    'field.assigned_worker': 'Assigned worker',
    'field.placement': 'Current placement',
    'field.status': 'Case status',
    'field.risk_level': 'Risk level',
    'field.family_id': 'Household',
    'field.notes': 'Notes',
    'field.name': 'Name',
    'field.address': 'Address',
    'field.child_id': 'Child',
    'field.relationship': 'Relationship',
    'field.phone': 'Phone',
    'field.consent_to_contact': 'Agrees to be contacted',
    'field.worker': 'Worker',
    'field.visited_at': 'Visit date',
    'field.kind': 'Kind of visit',
    'field.attendees': 'Present',
    'field.observations': 'Observations',
    'field.risk_assessment': 'Risk assessed',
    'field.agreed_actions': 'Agreed actions',
    'field.next_visit_due': 'Next visit due',
    'field.latitude': 'Latitude',
    'field.longitude': 'Longitude',
    'field.from_placement': 'Previous placement',
    'field.to_placement': 'New placement',
    'field.changed_on': 'Date of the move',
    'field.reason': 'Reason',
    'field.deleted': 'Deleted',

    'PLACEMENT_UNSPECIFIED': 'Not recorded',
    'PLACEMENT_RESIDENTIAL_INSTITUTION': 'Residential institution',
    'PLACEMENT_FOSTER_FAMILY': 'Foster family',
    'PLACEMENT_KINSHIP_CARE': 'Kinship care',
    'PLACEMENT_FAMILY_OF_ORIGIN': 'Family of origin',
    'PLACEMENT_INDEPENDENT_LIVING': 'Independent living',
    'PLACEMENT_OTHER': 'Other',
    'CASE_STATUS_UNSPECIFIED': 'Not recorded',
    'CASE_STATUS_OPEN': 'Open',
    'CASE_STATUS_REINTEGRATED': 'Reintegrated',
    'CASE_STATUS_CLOSED': 'Closed',
    'RISK_LEVEL_UNSPECIFIED': 'Not assessed',
    'RISK_LEVEL_LOW': 'Low',
    'RISK_LEVEL_MEDIUM': 'Medium',
    'RISK_LEVEL_HIGH': 'High',
    'SEX_UNSPECIFIED': 'Not recorded',
    'SEX_FEMALE': 'Female',
    'SEX_MALE': 'Male',
    'SEX_OTHER': 'Other',
    'RELATIONSHIP_UNSPECIFIED': 'Not recorded',
    'RELATIONSHIP_MOTHER': 'Mother',
    'RELATIONSHIP_FATHER': 'Father',
    'RELATIONSHIP_GRANDPARENT': 'Grandparent',
    'RELATIONSHIP_SIBLING': 'Sibling',
    'RELATIONSHIP_AUNT_UNCLE': 'Aunt or uncle',
    'RELATIONSHIP_OTHER_RELATIVE': 'Other relative',
    'RELATIONSHIP_FOSTER_CARER': 'Foster carer',
    'RELATIONSHIP_NEIGHBOUR': 'Neighbour',
    'RELATIONSHIP_OTHER': 'Other',
    'VISIT_KIND_UNSPECIFIED': 'Not recorded',
    'VISIT_KIND_ASSESSMENT': 'Assessment',
    'VISIT_KIND_FOLLOW_UP': 'Follow-up',
    'VISIT_KIND_REINTEGRATION_PREPARATION': 'Reintegration preparation',
    'VISIT_KIND_POST_REINTEGRATION_MONITORING': 'Post-reintegration monitoring',
    'VISIT_KIND_OTHER': 'Other',
    'CONFLICT_KIND_UNSPECIFIED': 'Conflict',
    'CONFLICT_KIND_CONCURRENT_WRITE': 'Concurrent changes',
    'CONFLICT_KIND_EDIT_OF_DELETED': 'Change of a deleted record',
    'CONFLICT_KIND_DELETE_OF_EDITED': 'Delete of a changed record',
  },
};

export const LANGUAGES = [
  {code: 'es', name: 'Español'},
  {code: 'en', name: 'English'},
];

const STORAGE_KEY = 'vinculo.lang';
let current = initialLanguage();

function initialLanguage() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch (e) {
    // Storage may be disabled; the browser's language decides.
  }
  if (saved && STRINGS[saved]) return saved;
  const preferred = navigator.languages && navigator.languages.length ? navigator.languages :
                                                                       [navigator.language || ''];
  for (const tag of preferred) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (STRINGS[base]) return base;
  }
  return 'en';
}

export function language() {
  return current;
}

export function setLanguage(code) {
  if (!STRINGS[code]) return;
  current = code;
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch (e) {
    // Not remembered; still switched for this page.
  }
  document.documentElement.lang = code;
}

// The BCP 47 locale for formatting: the browser's own when it is of the chosen language (es-PE
// writes dates as Peru does), else Latin American Spanish or English.
export function locale() {
  const tag = navigator.language || '';
  if (tag.toLowerCase().split('-')[0] === current) return tag;
  return current === 'es' ? 'es-419' : 'en';
}

// The string `key` with {name} placeholders filled from `vars`. A missing key shows as itself, so a
// forgotten translation is visible rather than blank.
export function t(key, vars) {
  let text = STRINGS[current][key];
  if (text === undefined) text = STRINGS.en[key];
  if (text === undefined) return key;
  if (vars) text = text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  return text;
}

// `key` + ".one" when n is 1, else `key` + ".other", with {n} filled in (both languages here
// have just these two forms).
export function tn(key, n, vars) {
  return t(key + (Number(n) === 1 ? '.one' : '.other'), {...vars, n: formatNumber(n)});
}

// A friendly label for a proto enum value name ("VISIT_KIND_FOLLOW_UP" → "Seguimiento").
export function enumLabel(name) {
  if (name === undefined || name === null || name === '') return t('common.none');
  const text = STRINGS[current][name] ?? STRINGS.en[name];
  if (text !== undefined) return text;
  // A value added after this dictionary: readable rather than shouted.
  const words = String(name).toLowerCase().split('_');
  return words.slice(words.length > 2 ? 2 : 0).join(' ');
}

// A label for a record field named in snake_case ("given_name").
export function fieldLabel(snakeName) {
  const key = 'field.' + snakeName;
  const text = STRINGS[current][key] ?? STRINGS.en[key];
  return text !== undefined ? text : snakeName.replace(/_/g, ' ');
}

export function hasKey(key) {
  return STRINGS[current][key] !== undefined;
}

// ---- Formatting -------------------------------------------------------------------------------

const numberFormats = new Map();
export function formatNumber(n) {
  const loc = locale();
  if (!numberFormats.has(loc)) numberFormats.set(loc, new Intl.NumberFormat(loc));
  return numberFormats.get(loc).format(Number(n) || 0);
}

// "2026-06-17" (a calendar date, no time zone) → "17 jun 2026".
export function formatDate(ymd) {
  if (!ymd) return t('common.none');
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
  if (!m) return ymd;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return new Intl.DateTimeFormat(locale(), {dateStyle: 'medium', timeZone: 'UTC'}).format(d);
}

// An RFC 3339 instant → the date and time on this computer's clock.
export function formatDateTime(instant) {
  if (!instant) return t('common.none');
  const d = instant instanceof Date ? instant : new Date(instant);
  if (Number.isNaN(d.getTime())) return String(instant);
  return new Intl.DateTimeFormat(locale(), {dateStyle: 'medium', timeStyle: 'short'}).format(d);
}

// An RFC 3339 instant → its date on this computer's calendar, without the time.
export function formatDay(instant) {
  if (!instant) return t('common.none');
  const d = new Date(instant);
  if (Number.isNaN(d.getTime())) return String(instant);
  return new Intl.DateTimeFormat(locale(), {dateStyle: 'medium'}).format(d);
}

// "2026-06" → "jun 2026" (short) or "junio de 2026" (long).
export function formatMonth(ym, long = false) {
  const m = /^(\d{4})-(\d{2})$/.exec(ym || '');
  if (!m) return ym || '';
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, 1));
  return new Intl.DateTimeFormat(locale(), {
    month: long ? 'long' : 'short', year: 'numeric', timeZone: 'UTC',
  }).format(d);
}
