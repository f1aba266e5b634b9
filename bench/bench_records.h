#pragma once
// Realistic records for the sync benchmarks (sync_bench.cc, micro_bench.cc): children and home
// visits as a field worker records them, made deterministically from a seed.
//
// The free text matters for the wire figures: a benchmark that repeats one paragraph in every visit
// makes gzip look far better than it is. Each visit's observations are ~250–400 bytes of Spanish:
// one sentence in three from a pool of templates with names, ages, amounts and days filled in (the
// phrasing one worker repeats), the rest free sentences drawn word by word from a vocabulary with
// a Zipf-like law. sync_bench prints how well a page of it compresses.

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "common/civil_time.h"
#include "vinculo/v1/records.pb.h"

namespace vinculo::bench {

inline constexpr int64_t kBenchDayMs = 86'400'000;

class RecordMaker {
 public:
  explicit RecordMaker(uint64_t seed) : rng_(seed) {}

  v1::Record Child(int n, const std::string& region, const std::string& worker) {
    v1::Record r;
    v1::Child* c = r.mutable_child();
    c->set_given_name(Pick(kGivenNames));
    c->set_family_name(std::string(Pick(kFamilyNames)) + " " + Pick(kFamilyNames));
    c->set_birth_date(FormatDate(14'000 + n % 5'000));
    c->set_sex(n % 2 == 0 ? v1::SEX_FEMALE : v1::SEX_MALE);
    c->set_region(region);
    c->set_programme("acogimiento familiar");
    c->set_assigned_worker(worker);
    c->set_placement(v1::PLACEMENT_KINSHIP_CARE);
    c->set_status(v1::CASE_STATUS_OPEN);
    c->set_risk_level(v1::RISK_LEVEL_MEDIUM);
    return r;
  }

  // A visit to `child_id` at `visited_ms`: two attendees, GPS, varied observations and actions.
  v1::Record Visit(const std::string& child_id, const std::string& worker, int64_t visited_ms) {
    v1::Record r;
    v1::HomeVisit* v = r.mutable_home_visit();
    v->set_child_id(child_id);
    v->set_worker(worker);
    v->set_visited_at(UtcTimestamp(visited_ms));
    v->set_kind(Uniform(2) == 0 ? v1::VISIT_KIND_FOLLOW_UP
                                : v1::VISIT_KIND_POST_REINTEGRATION_MONITORING);
    v->add_attendees(FakeUuid(visited_ms));
    v->add_attendees(FakeUuid(visited_ms + 1));
    v->set_observations(Observations());
    v->set_risk_assessment(Uniform(3) == 0 ? v1::RISK_LEVEL_HIGH : v1::RISK_LEVEL_MEDIUM);
    v->set_agreed_actions(AgreedActions());
    v->set_next_visit_due(FormatDate(visited_ms / kBenchDayMs + 7 + Uniform(21)));
    v->set_latitude(-13.5 - static_cast<double>(Uniform(100'000)) / 1e6);
    v->set_longitude(-71.9 - static_cast<double>(Uniform(100'000)) / 1e6);
    return r;
  }

  // New observations and a new due date for an existing visit: what a correction looks like.
  v1::Record VisitEdit(int64_t today_ms) {
    v1::Record r;
    v1::HomeVisit* v = r.mutable_home_visit();
    v->set_observations(Observations());
    v->set_next_visit_due(FormatDate(today_ms / kBenchDayMs + 7 + Uniform(21)));
    return r;
  }

  // One template sentence in three (workers do repeat themselves); the rest free sentences of
  // 6–16 words drawn from a vocabulary with a Zipf-like law, as prose has.
  std::string Observations() {
    std::string out;
    while (out.size() < 250 + Uniform(150)) {
      if (!out.empty()) out += ' ';
      out += Uniform(3) == 0 ? Fill(Pick(kSentences)) : FreeSentence();
    }
    return out;
  }

  std::string FreeSentence() {
    std::string out;
    const uint32_t words = 6 + Uniform(11);
    for (uint32_t w = 0; w < words; ++w) {
      if (w > 0) out += ' ';
      out += Word();
    }
    if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 32);
    return out + '.';
  }

  // Word k of the vocabulary with probability ~ 1/(k+1).
  const char* Word() {
    constexpr size_t kWords = std::size(kVocabulary);
    static const std::vector<double> kCumulative = [] {
      std::vector<double> c(kWords);
      double sum = 0;
      for (size_t k = 0; k < kWords; ++k) c[k] = sum += 1.0 / static_cast<double>(k + 1);
      return c;
    }();
    const double x = std::uniform_real_distribution<double>(0, kCumulative.back())(rng_);
    const size_t k = static_cast<size_t>(
        std::lower_bound(kCumulative.begin(), kCumulative.end(), x) - kCumulative.begin());
    return kVocabulary[std::min(k, kWords - 1)];
  }

  std::string AgreedActions() { return Fill(Pick(kActions)) + " " + Fill(Pick(kActions)); }

  uint32_t Uniform(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }

 private:
  template <size_t N>
  const char* Pick(const char* const (&pool)[N]) {
    return pool[Uniform(static_cast<uint32_t>(N))];
  }

  // Replaces {n} with a name, {r} with a relative, {a} with an age, {d} with a day count and {m}
  // with an amount.
  std::string Fill(const char* text) {
    std::string out;
    for (const char* p = text; *p != '\0'; ++p) {
      if (p[0] == '{' && p[1] != '\0' && p[2] == '}') {
        switch (p[1]) {
          case 'n': out += Pick(kGivenNames); break;
          case 'r': out += Pick(kRelatives); break;
          case 'a': out += std::to_string(4 + Uniform(13)); break;
          case 'd': out += std::to_string(2 + Uniform(28)); break;
          case 'm': out += std::to_string(50 + 10 * Uniform(45)); break;
          default: break;
        }
        p += 2;
      } else {
        out += *p;
      }
    }
    return out;
  }

  std::string FakeUuid(int64_t salt) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "01970e6a-3c1f-7b2a-9d4e-000000000000";
    uint64_t bits = rng_() ^ static_cast<uint64_t>(salt);
    for (size_t i = out.size() - 12; i < out.size(); ++i, bits >>= 4) out[i] = kHex[bits & 15];
    return out;
  }

  static constexpr const char* kGivenNames[] = {
      "Lucía", "Mateo", "Valentina", "Santiago", "Camila", "Thiago", "Ximena", "Joaquín",
      "Ana Belén", "Yoselín", "Brayan", "Milagros", "Fernando", "Rosa", "Kevin", "Nayeli",
      "Jhon", "Sheyla", "Ruth", "Wilber", "Flor", "Edwin", "Mariela", "Alexander"};
  static constexpr const char* kFamilyNames[] = {
      "Quispe", "Mamani", "Huamán", "Condori", "Flores", "Ccama", "Choque", "Apaza",
      "Gutiérrez", "Rojas", "Vargas", "Chambi", "Ticona", "Puma", "Yupanqui", "Sánchez"};
  static constexpr const char* kRelatives[] = {"abuela materna", "abuelo", "tía", "tío",
                                               "madre", "padre", "hermana mayor", "madrina",
                                               "prima", "cuidadora"};
  static constexpr const char* kSentences[] = {
      "{n} asistió a la visita con su {r}.",
      "Se observa una mejora en la asistencia escolar de {n} ({a} años).",
      "El vínculo con la {r} es cercano y afectuoso, aunque {n} busca más a su {r}.",
      "Persisten dificultades económicas; el ingreso semanal ronda los {m} soles.",
      "La familia pidió apoyo para útiles escolares y un uniforme de talla {a}.",
      "{n} dice sentirse segura y contó que ayuda en la chacra los sábados.",
      "Sin señales de maltrato ni de negligencia en esta visita.",
      "La vivienda tiene {d} ambientes; duermen cinco personas en dos camas.",
      "El centro de salud registra los controles al día salvo la vacuna de los {a} años.",
      "La {r} trabaja fuera {d} días al mes y deja a los niños con una vecina.",
      "{n} faltó {d} días al colegio el último mes por una infección respiratoria.",
      "Conversamos sobre la rutina de tareas, la hora de dormir y el uso del celular.",
      "La docente informa buen comportamiento y dificultades en lectura y matemáticas.",
      "El padre no estuvo presente; la {r} dice que viaja a Quillabamba por trabajo.",
      "Revisamos el plan de reintegración punto por punto con la familia.",
      "{n} mostró sus cuadernos, habló de su mejor amiga y de un perro que adoptaron.",
      "Hay agua potable pero no desagüe; la letrina está limpia.",
      "La familia participa en el comedor popular y en la olla común del barrio.",
      "Se nota tensión entre la {r} y la madre por los gastos de la casa.",
      "{n} se muestra tímido al inicio y después conversa con confianza.",
      "El hermano menor, de {a} años, tiene tos hace {d} días; se recomendó llevarlo a la posta.",
      "Pagaron {m} soles de la deuda de luz; queda pendiente el recibo de agua.",
      "La abuela cocina para {d} personas con lo que vende en la feria.",
      "{n} quiere ser enfermera y pregunta por becas para el instituto.",
      "No se cumplió el acuerdo de la visita anterior sobre el horario de estudio.",
      "La casa está ordenada; hay un rincón con libros que donó la parroquia.",
      "Un tío con problemas de alcohol visita la casa los fines de semana.",
      "{n} duerme mejor desde que comparte cuarto con su hermana.",
      "Se aplicó la ficha de riesgo: puntaje {d}, sin cambios respecto al mes pasado.",
      "La madre consiguió trabajo en una panadería, turno de madrugada.",
      "El colegio queda a {d} minutos a pie; {n} va acompañado por su primo.",
      "Llovió fuerte y el techo de calamina gotea sobre la cocina.",
      "{n} tuvo una pelea en el recreo; la tutora conversó con ambos niños.",
      "Se entregó la canasta del programa y se firmó el cargo.",
      "La {r} pide orientación para tramitar el DNI de {n}.",
      "Los niños almuerzan en el colegio gracias a Qali Warma.",
      "Se habló con {n} a solas durante {d} minutos; relata un ambiente tranquilo.",
      "La familia se mudó a un cuarto alquilado por {m} soles al mes.",
      "{n} cumplió {a} años la semana pasada y lo celebraron en casa de la {r}.",
      "Hay controles de peso y talla pendientes en la posta desde hace {d} semanas.",
  };
  static constexpr const char* kVocabulary[] = {
      "de", "la", "que", "el", "en", "y", "a", "los", "se", "del", "las", "un", "por", "con",
      "no", "una", "su", "para", "es", "al", "lo", "como", "más", "pero", "sus", "le", "ya", "o",
      "este", "sí", "porque", "esta", "entre", "cuando", "muy", "sin", "sobre", "también", "me",
      "hasta", "hay", "donde", "quien", "desde", "todo", "nos", "durante", "todos", "uno", "les",
      "ni", "contra", "otros", "ese", "eso", "ante", "ellos", "e", "esto", "mí", "antes",
      "algunos", "qué", "unos", "yo", "otro", "otras", "otra", "él", "tanto", "esa", "estos",
      "mucho", "quienes", "nada", "muchos", "cual", "poco", "ella", "estar", "estas", "algunas",
      "algo", "nosotros", "niña", "niño", "madre", "padre", "abuela", "abuelo", "tía", "tío",
      "hermana", "hermano", "familia", "casa", "colegio", "escuela", "visita", "salud", "posta",
      "comida", "trabajo", "dinero", "cuarto", "cocina", "patio", "chacra", "animales", "perro",
      "gallinas", "cuy", "tareas", "cuadernos", "profesora", "tutora", "psicóloga", "vecina",
      "vecinos", "barrio", "comunidad", "iglesia", "mercado", "feria", "semana", "mes", "día",
      "noche", "mañana", "tarde", "lunes", "martes", "viernes", "sábado", "domingo", "ayer",
      "hoy", "pronto", "siempre", "nunca", "todavía", "bien", "mal", "mejor", "peor", "tranquilo",
      "nervioso", "triste", "contento", "cansado", "enfermo", "sano", "limpio", "sucio",
      "ordenado", "grande", "pequeño", "nuevo", "viejo", "pendiente", "urgente", "importante",
      "difícil", "fácil", "conversa", "dice", "cuenta", "pide", "quiere", "necesita", "tiene",
      "puede", "debe", "va", "viene", "llega", "sale", "trabaja", "estudia", "juega", "duerme",
      "come", "llora", "ríe", "ayuda", "cuida", "espera", "recibe", "entrega", "firma", "paga",
      "acompaña", "observa", "informa", "refiere", "menciona", "reconoce", "acepta", "rechaza",
      "promete", "cumple", "olvida", "recuerda", "llamó", "vino", "fue", "hizo", "dijo", "contó",
      "pidió", "llevó", "trajo", "dejó", "encontró", "revisó", "habló", "explicó", "acordó",
      "mostró", "preguntó", "respondió", "agua", "luz", "techo", "pared", "puerta", "ventana",
      "cama", "ropa", "zapatos", "uniforme", "mochila", "libros", "lápices", "medicinas",
      "vacunas", "control", "peso", "talla", "tos", "fiebre", "dolor", "cabeza", "estómago",
      "diente", "ojos", "piel", "herida", "golpe", "caída", "miedo", "confianza", "respeto",
      "cariño", "castigo", "gritos", "peleas", "discusión", "acuerdo", "compromiso", "plan",
      "meta", "avance", "retroceso", "cambio", "apoyo", "beca", "programa", "bono", "canasta",
      "seguro", "documento", "DNI", "partida", "trámite", "oficina", "municipalidad", "DEMUNA",
      "fiscalía", "juzgado", "comisaría", "carro", "combi", "moto", "camino", "cerro", "río",
      "lluvia", "frío", "calor", "polvo",
  };
  static constexpr const char* kActions[] = {
      "Coordinar con la DEMUNA la beca escolar.",
      "Volver en {d} días con la psicóloga.",
      "Gestionar el SIS para {n}.",
      "Derivar a la {r} al programa Juntos.",
      "Acompañar a {n} a su control de salud.",
      "Llamar a la docente antes de la próxima visita.",
      "Entregar el kit escolar pendiente.",
      "Revisar el acuerdo de convivencia con la familia.",
  };

  std::mt19937_64 rng_;
};

}  // namespace vinculo::bench
